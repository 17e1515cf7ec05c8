// The dashboard's students table: one box ticks or clears every student on the page (shown only with JavaScript).
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("[data-check-all]"), function (all) {
    var boxes = document.querySelectorAll('input[name="' + all.getAttribute("data-check-all") + '"]');
    all.hidden = false;
    all.addEventListener("change", function () {
      Array.prototype.forEach.call(boxes, function (box) { box.checked = all.checked; });
    });
  });
})();
