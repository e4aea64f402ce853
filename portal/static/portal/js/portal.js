// Small fixes on top of USWDS that every page needs.
(function () {
  "use strict";
  // When the phone menu is open, USWDS hides the rest of the page from screen
  // readers (aria-hidden + data-nav-hidden). Make it inert as well, so keyboard
  // focus cannot land on content a screen reader has been told is not there.
  var observer = new MutationObserver(function (changes) {
    changes.forEach(function (change) {
      var element = change.target;
      if (element.hasAttribute("data-nav-hidden")) {
        element.setAttribute("inert", "");
      } else {
        element.removeAttribute("inert");
      }
    });
  });
  observer.observe(document.body, { subtree: true, attributes: true, attributeFilter: ["data-nav-hidden"] });
}());
