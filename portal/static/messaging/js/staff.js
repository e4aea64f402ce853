// The care team's thread page: a quick text's Use button puts its text into the reply at the
// cursor (without script, the same button posts the reply and the page comes back with the text
// at its end). Loaded as a file (CSP: no inline script), after messaging.js, which saves the draft.
(function () {
  "use strict";

  var form = document.querySelector("form[data-autosave-url]");
  var body = form && form.elements.namedItem("body");
  if (!body) { return; }
  var status = form.querySelector("[data-quick-text-status]");
  // Until the person has been in the reply box, its caret means nothing: add at the end then.
  var placed = false;
  body.addEventListener("focus", function () { placed = true; });

  form.querySelectorAll("[data-quick-text]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var text = button.getAttribute("data-quick-text");
      if (placed) {
        body.setRangeText(text, body.selectionStart, body.selectionEnd, "end");
      } else {
        var typed = body.value.replace(/\s+$/, "");
        body.value = typed ? typed + "\n\n" + text : text;
        body.setSelectionRange(body.value.length, body.value.length);
      }
      body.focus();
      body.dispatchEvent(new CustomEvent("portal:edited", { bubbles: true }));
      if (status) {
        status.textContent = "The quick text " + button.getAttribute("data-quick-text-title") + " is in your reply. Edit it before sending.";
      }
    });
  });
})();
