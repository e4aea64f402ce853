// Secure messaging pages: draft autosave and the print button. Loaded as a file (CSP: no inline script).
// Used by the patient's compose and reply forms and the care team's reply form alike.
(function () {
  "use strict";

  var IDLE_MS = 10000;
  var FIELDS = ["about", "csrfmiddlewaretoken", "send_token", "care_team", "category", "subject", "body", "thread", "sign"];

  function autosave(form) {
    var url = form.getAttribute("data-autosave-url");
    var status = form.querySelector("[data-autosave-status]");
    var timer = null;
    var dirty = false;
    var sending = false;

    function payload() {
      var data = new FormData();
      FIELDS.forEach(function (name) {
        var field = form.elements.namedItem(name);
        if (!field || !("value" in field)) { return; }
        if (field.type === "checkbox") {
          if (field.checked) { data.append(name, field.value); }
          return;
        }
        data.append(name, field.value);
      });
      return data;
    }

    function save() {
      if (!dirty) { return Promise.resolve(null); }
      dirty = false;
      window.clearTimeout(timer);
      return post(url, payload())
        .then(function (response) { return answerOf(form, response); })
        .then(function (answer) {
          if (answer && answer.saved_at && status) { status.textContent = "Draft saved at " + answer.saved_at + "."; }
          return answer;
        })
        .catch(function (error) { dirty = true; throw error; });
    }

    function saveNow() {
      // The page is about to go: a beacon outlives it where a fetch may not.
      if (!dirty) { return; }
      dirty = false;
      window.clearTimeout(timer);
      if (navigator.sendBeacon) { navigator.sendBeacon(url, payload()); }
    }

    form.addEventListener("input", function (event) {
      if (event.target && event.target.type === "file") { return; }
      if (!event.isTrusted) { return; }  // our own nudge of the counters below, not typing
      dirty = true;
      window.clearTimeout(timer);
      timer = window.setTimeout(quietly(save), IDLE_MS);
    });
    // Text the page put in on the person's behalf (a care team's quick text) is theirs to save too.
    form.addEventListener("portal:edited", function () {
      dirty = true;
      window.clearTimeout(timer);
      timer = window.setTimeout(quietly(save), IDLE_MS);
    });
    document.addEventListener("submit", function (event) {
      if (event.defaultPrevented) { return; }  // held back (a file still saving, or signed out)
      if (event.target === form) {
        // One Send per page: a second press would only race the first.
        if (sending) { event.preventDefault(); return; }
        if (form.hasAttribute("data-unavailable")) {
          // The portal was not available a moment ago: Send would lead to an error page. Save
          // first; only once that is answered does Send go. Until then the text stays here.
          event.preventDefault();
          var submitter = event.submitter;
          dirty = true;
          save().then(function () {
            if (!form.hasAttribute("data-unavailable")) { form.requestSubmit(submitter || undefined); }
          }, function () { /* still not available: answerOf said so, the text stays */ });
          return;
        }
        sending = true;
        dirty = false;
        window.clearTimeout(timer);
      } else if (event.target.hasAttribute("data-discards-draft")) {
        dirty = false;
        window.clearTimeout(timer);
      } else {
        // Another form of the page (remove a file, add a note, move): keep the reply typed so far.
        saveNow();
      }
    });
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) { sending = false; }
    });
    // Leaving the page (or the session timing out and moving on) saves what was typed.
    window.addEventListener("pagehide", saveNow);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") { quietly(save)(); }
    });
  }

  // After a session ends: the save's answer, files saved as soon as they are chosen, and ----------
  // typed work kept on screen when the server would not take it. Nothing goes to web storage.

  // The answer of a save to the autosave address, or an error when it was not saved. A
  // redirect (to the sign-in page) or a 403 (a token from before a new sign-in) means the
  // session had ended: the page keeps the work and says so. A refusal (too long, too many
  // drafts, a file store that is full) comes as JSON with the words to show; a 503 or a
  // gateway error means the portal is not available: the text stays and the page says so.
  function answerOf(form, response) {
    var type = response.headers.get("Content-Type") || "";
    if (!response.redirected && type.indexOf("application/json") === 0) {
      return response.json().then(function (answer) {
        // A new message's address becomes its draft's, so a reload or a sign-in after a
        // timeout comes back to the draft rather than an empty form.
        if (answer.draft_url && !form.elements.namedItem("thread") && window.location.pathname !== answer.draft_url) {
          window.history.replaceState(null, "", answer.draft_url);
        }
        if (answer.unavailable) { form.setAttribute("data-unavailable", ""); } else { form.removeAttribute("data-unavailable"); }
        showProblem(form, answer.unavailable ? UNAVAILABLE : answer.error || "");
        if (!response.ok) {
          var error = new Error("not saved");
          error.answer = answer;
          throw error;
        }
        return answer;
      });
    }
    if (response.status === 502 || response.status === 503 || response.status === 504) {
      form.setAttribute("data-unavailable", "");
      showProblem(form, UNAVAILABLE);
    }
    if (response.redirected || response.status === 401 || response.status === 403) { keepAfterSignOut(form); }
    return Promise.reject(new Error("not saved"));
  }

  var UNAVAILABLE = "The portal is not available just now, so your latest changes are not saved. What you typed is still here: try again in a moment.";

  function post(url, body) {
    return fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" } })
      .catch(function (error) {
        // No answer at all (the server or the network is down): say so, keep the text.
        document.querySelectorAll("form[data-autosave-url]").forEach(function (form) {
          if (form.getAttribute("data-autosave-url") === url) {
            form.setAttribute("data-unavailable", "");
            showProblem(form, UNAVAILABLE);
          }
        });
        throw error;
      });
  }

  // A save run from a timer or an event: its failure is shown on the page (answerOf), not thrown.
  function quietly(save) {
    return function () { save().catch(function () { return null; }); };
  }

  // What stopped the last save, said above the buttons; cleared by the next save that works.
  function showProblem(form, message) {
    var notice = form.querySelector("[data-save-problem]");
    if (!message) {
      if (notice) { notice.parentNode.removeChild(notice); }
      return;
    }
    if (!notice) {
      notice = element("div", "usa-alert usa-alert--error usa-alert--slim");
      notice.setAttribute("role", "alert");
      notice.setAttribute("data-save-problem", "");
      var body = element("div", "usa-alert__body");
      body.appendChild(element("p", "usa-alert__text"));
      notice.appendChild(body);
      var status = form.querySelector("[data-autosave-status]");
      form.insertBefore(notice, status || null);
    }
    notice.querySelector("p").textContent = message;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function keepAfterSignOut(form) {
    if (form.hasAttribute("data-signed-out")) { return; }
    form.setAttribute("data-signed-out", "");
    var notice = element("div", "usa-alert usa-alert--warning usa-alert--slim portal-signed-out");
    notice.setAttribute("role", "alert");
    var body = element("div", "usa-alert__body");
    var text = element("p", "usa-alert__text", "You were signed out, so your latest changes are not saved. What you typed is still here. ");
    var link = element("a", "", "Sign in again in a new tab");
    link.href = document.body.dataset.signInUrl || "/account/sign-in/";
    link.target = "_blank";
    link.rel = "noopener";
    text.appendChild(link);
    text.appendChild(document.createTextNode(", then come back to this tab and choose Save my draft."));
    var button = element("button", "usa-button usa-button--outline width-auto margin-top-1", "Save my draft");
    button.type = "button";
    button.addEventListener("click", function () { saveAfterSignIn(form, text); });
    // Send or Save draft would post to a session that is gone and lose the text: save it instead.
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      saveAfterSignIn(form, text);
    });
    body.appendChild(text);
    body.appendChild(button);
    notice.appendChild(body);
    var status = form.querySelector("[data-autosave-status]");
    form.insertBefore(notice, status || null);
  }

  // Signed in again elsewhere: fetch a page for a fresh form token (the old one ended with the
  // session), save everything on the form, then open the saved draft.
  function saveAfterSignIn(form, text) {
    var url = form.getAttribute("data-autosave-url");
    fetch(document.body.dataset.signInUrl, { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var token = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(html);
        if (token) {
          document.querySelectorAll("input[name=csrfmiddlewaretoken]").forEach(function (input) { input.value = token[1]; });
        }
        return post(url, new FormData(form));
      })
      .then(function (response) { return answerOf(form, response); })
      .then(function (answer) { window.location.assign(answer.draft_url || window.location.pathname); })
      .catch(function () {
        text.firstChild.textContent = "You are still signed out, so your latest changes are not saved. What you typed is still here. ";
      });
  }

  // The session timeout would open the sign-in page: not while this page holds unsaved work.
  document.addEventListener("portal:signed-out", function (event) {
    if (document.querySelector("form[data-signed-out]")) { event.preventDefault(); }
  });

  // Files are saved with the draft as soon as they are chosen, so a session that ends while the
  // person is away loses none of them. The list shows them with a Remove button, as on reload.
  function saveChosenFiles(form) {
    var input = form.querySelector("input[type=file][name=attachments]");
    if (!input) { return; }
    var status = form.querySelector("[data-autosave-status]");
    var saving = null;
    input.addEventListener("change", function () {
      if (!input.files.length) { return; }
      // A file over the size limit is named at once and not sent at all (it could be
      // hundreds of megabytes); the server checks again whatever comes.
      var most = Number(input.getAttribute("data-max-bytes")) || Infinity;
      var tooBig = [];
      var body = new FormData(form);
      body.delete("attachments");
      Array.prototype.forEach.call(input.files, function (file) {
        if (file.size > most) {
          tooBig.push({ name: file.name, reason: "the file is larger than " + input.getAttribute("data-max-label") + ". Send a smaller copy." });
        } else {
          body.append("attachments", file, file.name);
        }
      });
      saving = post(form.getAttribute("data-autosave-url"), body)
        .then(function (response) { return answerOf(form, response); })
        .then(function (answer) {
          input.value = "";
          listFiles(form, input, answer.attached || []);
          showRefusals(form, input, tooBig.concat(answer.refused || []));
          if (status && answer.saved_at) {
            var names = (answer.attached || []).map(function (file) { return file.name; }).join(", ");
            status.textContent = "Draft saved at " + answer.saved_at + (names ? " with " + names : "") + ".";
          }
        })
        .catch(function (error) {
          // The files stay chosen and go with Send or Save draft; a refusal was shown by answerOf.
          var answer = error && error.answer;
          if (status && answer && answer.saved_at) { status.textContent = "Draft saved at " + answer.saved_at + ", without the files."; }
        })
        .then(function () { saving = null; });
    });
    // Send pressed while the files are being saved: send once they are, so each goes once.
    form.addEventListener("submit", function (event) {
      if (!saving) { return; }
      event.preventDefault();
      event.stopPropagation();
      var submitter = event.submitter;
      saving.then(function () { form.requestSubmit(submitter || undefined); });
    });
  }

  function listFiles(form, input, files) {
    if (!files.length) { return; }
    var list = form.querySelector("[data-draft-files]");
    if (!list) {
      var group = input.closest(".usa-form-group") || input;
      group.parentNode.insertBefore(element("h3", "font-body-sm", "Attached to this draft"), group);
      list = element("ul", "usa-list portal-draft-files");
      list.setAttribute("data-draft-files", "");
      group.parentNode.insertBefore(list, group);
    }
    var token = form.elements.namedItem("csrfmiddlewaretoken");
    files.forEach(function (file) {
      var remove = element("form");
      remove.id = "remove-" + file.id;
      remove.method = "post";
      remove.action = file.remove_url;
      remove.hidden = true;
      var hidden = element("input");
      hidden.type = "hidden";
      hidden.name = "csrfmiddlewaretoken";
      hidden.value = token ? token.value : "";
      remove.appendChild(hidden);
      document.body.appendChild(remove);
      var item = element("li");
      var link = element("a", "", file.name);
      link.href = file.url;
      item.appendChild(link);
      item.appendChild(document.createTextNode(" (" + file.size + ") "));
      var button = element("button", "usa-button usa-button--unstyled", "Remove");
      button.type = "submit";
      button.setAttribute("form", remove.id);
      button.appendChild(element("span", "usa-sr-only", " " + file.name));
      item.appendChild(button);
      list.appendChild(item);
    });
  }

  function showRefusals(form, input, refused) {
    var old = form.querySelector("[data-file-refusals]");
    if (old) { old.parentNode.removeChild(old); }
    if (!refused.length) { return; }
    var notice = element("div", "usa-alert usa-alert--error usa-alert--slim");
    notice.setAttribute("role", "alert");
    notice.setAttribute("data-file-refusals", "");
    var body = element("div", "usa-alert__body");
    body.appendChild(element("p", "usa-alert__text", "These files were not attached. Everything else you entered is kept."));
    var list = element("ul");
    refused.forEach(function (refusal) {
      var item = element("li");
      item.appendChild(element("strong", "", refusal.name));
      item.appendChild(document.createTextNode(": " + refusal.reason));
      list.appendChild(item);
    });
    body.appendChild(list);
    notice.appendChild(body);
    var group = input.closest(".usa-form-group") || input;
    group.parentNode.insertBefore(notice, group);
  }

  document.querySelectorAll("form[data-autosave-url]").forEach(function (form) {
    autosave(form);
    saveChosenFiles(form);
  });
  // USWDS counts characters only as they are typed: a subject filled in by the portal
  // (a draft, a closed conversation's subject) would read "50 characters allowed".
  window.addEventListener("load", function () {
    document.querySelectorAll(".usa-character-count__field").forEach(function (field) {
      if (field.value) { field.dispatchEvent(new Event("input", { bubbles: true })); }
    });
  });
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
