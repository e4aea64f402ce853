// "Print codes": the print stylesheet (accounts/css/security.css) leaves only the codes sheet.
(function () {
  "use strict";
  document.querySelectorAll("[data-print-codes]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
