// Secure messaging pages: draft autosave and the print button. Loaded as a file (CSP: no inline script).
(function () {
  "use strict";

  var IDLE_MS = 10000;

  function autosave(form) {
    var url = form.getAttribute("data-autosave-url");
    var status = form.querySelector("[data-autosave-status]");
    var timer = null;
    var dirty = false;

    function payload() {
      var data = new FormData();
      ["csrfmiddlewaretoken", "send_token", "care_team", "category", "subject", "body", "thread"].forEach(function (name) {
        var field = form.elements.namedItem(name);
        if (field && "value" in field) { data.append(name, field.value); }
      });
      return data;
    }

    function save() {
      if (!dirty) { return; }
      dirty = false;
      fetch(url, { method: "POST", body: payload(), credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (answer) {
          if (answer && answer.saved_at && status) { status.textContent = "Draft saved at " + answer.saved_at + "."; }
        })
        .catch(function () { dirty = true; });
    }

    form.addEventListener("input", function (event) {
      if (event.target && event.target.type === "file") { return; }
      dirty = true;
      window.clearTimeout(timer);
      timer = window.setTimeout(save, IDLE_MS);
    });
    form.addEventListener("submit", function () { dirty = false; window.clearTimeout(timer); });
    // Leaving the page (or the session timing out and moving on) saves what was typed.
    window.addEventListener("pagehide", function () {
      if (dirty && navigator.sendBeacon) { dirty = false; navigator.sendBeacon(url, payload()); }
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") { save(); }
    });
  }

  document.querySelectorAll("form[data-autosave-url]").forEach(autosave);
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
