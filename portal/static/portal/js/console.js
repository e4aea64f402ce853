// The operator console's pages are Django admin pages, whose <body> a template cannot give
// data attributes: the session settings ride on the timeout dialog, and are copied to the
// body, where session-timeout.js (loaded next) reads them on every portal page.
(function () {
  "use strict";
  var dialog = document.getElementById("session-timeout");
  if (!dialog) { return; }
  Object.keys(dialog.dataset).forEach(function (key) {
    document.body.dataset[key] = dialog.dataset[key];
  });
}());
