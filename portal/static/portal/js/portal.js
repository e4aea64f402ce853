// Small fixes on top of USWDS that every page needs.
(function () {
  "use strict";
  // When the phone menu is open, USWDS hides the rest of the page from screen
  // readers (aria-hidden + data-nav-hidden). Make it inert as well, so keyboard
  // focus cannot land on content a screen reader has been told is not there.
  var observer = new MutationObserver(function (changes) {
    var released = false;
    changes.forEach(function (change) {
      var element = change.target;
      if (element.hasAttribute("data-nav-hidden")) {
        element.setAttribute("inert", "");
      } else {
        element.removeAttribute("inert");
        released = true;
      }
    });
    // Closing the menu (Escape, the close button), USWDS hands focus back to the Menu button
    // before this observer has lifted `inert` from it, so the focus stayed in the hidden menu.
    var menuButton = document.querySelector(".usa-menu-btn");
    var active = document.activeElement;
    var lost = !active || active === document.body || active.closest(".usa-nav");
    if (released && lost && menuButton && menuButton.offsetParent !== null) {
      menuButton.focus();
    }
  });
  observer.observe(document.body, { subtree: true, attributes: true, attributeFilter: ["data-nav-hidden"] });

  // A section's side menu (the message folders) folds behind its button on a phone
  // (the CSS hides it while the button says aria-expanded="false"); Escape folds it again.
  document.querySelectorAll("[data-section-menu]").forEach(function (menu) {
    var button = menu.querySelector("[aria-controls]");
    if (!button) {
      return;
    }
    function show(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
    }
    button.addEventListener("click", function () {
      show(button.getAttribute("aria-expanded") !== "true");
    });
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true" && button.offsetParent !== null) {
        show(false);
        button.focus();
      }
    });
  });
}());
