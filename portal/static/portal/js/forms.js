// Every form page: the error summary takes the focus, and each password field gets a
// "Show password" button. Loaded by base.html and the console; no inline script (CSP).
(function () {
  "use strict";

  // "There is a problem": focused on load so a screen reader reads it first; each link
  // puts the focus in its field (and brings the field's label into view).
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var field = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!field) {
        return;
      }
      event.preventDefault();
      field.focus();
      var group = field.closest("fieldset, .usa-form-group") || field;
      group.scrollIntoView({ block: "start" });
    });
  }

  // Show password / Hide password: a real button (Enter and Space work), which says whether
  // it is pressed and which input it controls. Hidden until this script runs.
  document.querySelectorAll("[data-show-password]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("aria-controls"));
    if (!input) {
      return;
    }
    var status = document.createElement("span");
    status.className = "usa-sr-only";
    status.setAttribute("aria-live", "polite");
    button.parentNode.insertBefore(status, button.nextSibling);
    button.hidden = false;
    button.addEventListener("click", function () {
      var show = input.type === "password";
      input.type = show ? "text" : "password";
      button.setAttribute("aria-pressed", show ? "true" : "false");
      button.textContent = show ? "Hide password" : "Show password";
      status.textContent = show ? "Your password is shown." : "Your password is hidden.";
    });
    // A password shown on screen is hidden again before the form goes (a browser would
    // otherwise offer to remember the form with the password as plain text).
    if (input.form) {
      input.form.addEventListener("submit", function () {
        input.type = "password";
      });
    }
  });
}());
