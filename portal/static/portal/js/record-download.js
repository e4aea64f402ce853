// Download my record: while a download is being prepared, refresh the list of downloads now
// and then (never the form above it, so nothing typed is lost) and say in a polite live region
// when one is ready. Stops when none is preparing, after ten minutes, or if the session ended.
(function () {
  "use strict";
  var list = document.querySelector("[data-download-list]");
  var status = document.querySelector("[data-download-status]");
  if (!list || !status || !window.fetch) {
    return;
  }
  var url = list.getAttribute("data-list-url");
  var started = Date.now();
  var delay = 1500;
  var LONGEST = 10 * 60 * 1000;

  function preparing(root) {
    var holder = root.querySelector("[data-preparing]");
    return holder ? parseInt(holder.getAttribute("data-preparing"), 10) || 0 : 0;
  }

  function ready(root) {
    return root.querySelectorAll('tr[data-status="ready"]').length;
  }

  function schedule() {
    if (!preparing(list)) {
      return;
    }
    if (Date.now() - started > LONGEST) {
      status.textContent = "Your download is still being prepared. Reload this page later to check again.";
      return;
    }
    window.setTimeout(refresh, delay);
    delay = Math.min(delay * 1.5, 10000);
  }

  function refresh() {
    window.fetch(url, { credentials: "same-origin", redirect: "manual" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("not refreshed");
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = document.createElement("div");
        fresh.innerHTML = html;
        var readyBefore = ready(list);
        var readyNow = ready(fresh);
        var focusedInside = list.contains(document.activeElement);
        if (fresh.innerHTML !== list.innerHTML && !focusedInside) {
          list.innerHTML = html;
          if (readyNow > readyBefore) {
            status.textContent = readyNow - readyBefore === 1
              ? "Your download is ready: its link is in the list of your downloads."
              : "Your downloads are ready: their links are in the list of your downloads.";
          }
        }
        schedule();
      })
      .catch(function () {
        status.textContent = "The list could not be refreshed. Reload this page to check your download.";
      });
  }

  schedule();
}());
