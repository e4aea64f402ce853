// Warns before the idle timeout and lets the person stay signed in.
// The server decides: this script asks it how long is left, so several tabs agree.
(function () {
  "use strict";
  var body = document.body;
  var idle = parseInt(body.dataset.sessionIdleSeconds || "0", 10);
  var warning = parseInt(body.dataset.sessionWarningSeconds || "120", 10);
  if (!idle) { return; }
  var dialog = document.getElementById("session-timeout");
  var countdown = dialog.querySelector("[data-countdown]");
  var stay = dialog.querySelector("[data-stay-signed-in]");
  var signOutNow = dialog.querySelector("[data-sign-out-now]");
  var deadline = Date.now() + idle * 1000;
  var previousFocus = null;
  var timer = null;

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function describe(seconds) {
    if (seconds >= 60) {
      var minutes = Math.ceil(seconds / 60);
      return minutes + (minutes === 1 ? " minute" : " minutes");
    }
    return seconds + (seconds === 1 ? " second" : " seconds");
  }

  function show() {
    if (!dialog.hidden) { return; }
    previousFocus = document.activeElement;
    dialog.hidden = false;
    stay.focus();
  }

  function hide() {
    dialog.hidden = true;
    if (previousFocus && previousFocus.focus) { previousFocus.focus(); }
  }

  function goToSignIn() {
    // A page holding typed work the server refused to save (the session had already ended)
    // cancels this event and keeps the work on screen, saying what to do (messaging.js).
    if (!document.dispatchEvent(new CustomEvent("portal:signed-out", { cancelable: true }))) {
      window.clearInterval(timer);
      dialog.hidden = true;
      return;
    }
    var next = window.location.pathname + window.location.search;
    window.location.assign(body.dataset.signInUrl + "?next=" + encodeURIComponent(next));
  }

  function sync(then) {
    fetch(body.dataset.sessionStatusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        if (!state.signed_in) { goToSignIn(); return; }
        deadline = Date.now() + state.seconds_left * 1000;
        if (then) { then(); }
      })
      .catch(function () { /* offline: keep the local estimate */ });
  }

  function tick() {
    var left = Math.round((deadline - Date.now()) / 1000);
    if (left <= 0) {
      // Only the server ends the session: go to sign-in once it says so.
      sync();
      return;
    }
    if (left <= warning) {
      if (dialog.hidden) {
        // Another tab may have kept the session alive: ask before warning.
        sync(function () {
          if (Math.round((deadline - Date.now()) / 1000) <= warning) { show(); }
        });
      }
      countdown.textContent = describe(left);
    } else if (!dialog.hidden) {
      hide();
    }
  }

  stay.addEventListener("click", function () {
    fetch(body.dataset.sessionKeepaliveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" }
    }).then(function (response) {
      if (!response.ok) { goToSignIn(); return; }
      return response.json().then(function (state) {
        deadline = Date.now() + state.seconds_left * 1000;
        hide();
      });
    });
  });

  signOutNow.addEventListener("click", function () {
    var form = document.querySelector("form[action$='/account/sign-out/']");
    if (form) { form.submit(); }
  });

  dialog.addEventListener("keydown", function (event) {
    if (event.key === "Tab") {
      // Keep focus inside the dialog while it is open.
      var items = [stay, signOutNow];
      var index = items.indexOf(document.activeElement);
      event.preventDefault();
      items[(index + (event.shiftKey ? items.length - 1 : 1)) % items.length].focus();
    } else if (event.key === "Escape") {
      stay.click();
    }
  });

  timer = window.setInterval(tick, 1000);
  window.addEventListener("pagehide", function () { window.clearInterval(timer); });
}());
