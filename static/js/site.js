// Small page-wide touches that need no framework.
(function () {
  "use strict";
  // Code blocks scroll sideways on narrow screens: make them reachable with the keyboard.
  Array.prototype.forEach.call(document.querySelectorAll(".lesson-body pre"), function (pre) {
    if (!pre.hasAttribute("tabindex")) pre.setAttribute("tabindex", "0");
  });
})();
