// The course player: keep the current lesson in view in the outline, and tick it when the server says
// the lesson is complete (lesson-video.js announces it after the video is watched to the end).
(function () {
  "use strict";
  var outline = document.querySelector(".outline");
  if (!outline) return;
  var current = outline.querySelector('[aria-current="page"]');
  var box = document.getElementById("course-outline");

  // On wide screens the outline scrolls in its own column: start with the current lesson in view.
  if (current && box && box.scrollHeight > box.clientHeight + 1) {
    var offset = current.getBoundingClientRect().top - box.getBoundingClientRect().top;
    box.scrollTop += offset - box.clientHeight / 3;
  }

  // In the drawer (phones), start at the current lesson: in view and with the focus ("you are here").
  if (box && current) {
    box.addEventListener("shown.bs.offcanvas", function () {
      current.scrollIntoView({ block: "center" });
      current.focus({ preventScroll: true });
    });
  }

  function bump(element) {
    if (element) element.textContent = String(parseInt(element.textContent, 10) + 1);
  }

  document.addEventListener("courseweb:lesson-completed", function (event) {
    var row = current && current.closest(".outline-lesson");
    var state = row && row.querySelector(".state");
    if (state && !state.querySelector(".tick")) {
      state.innerHTML = '<span class="tick" aria-hidden="true">✓</span><span class="visually-hidden">Completed:</span>';
      bump(row.closest(".outline-section").querySelector(".section-done"));
      bump(outline.querySelector("#outline-progress .done-count"));
    }
    var status = document.getElementById("player-status");
    if (status) status.textContent = (event.detail && event.detail.message) || "Lesson complete.";
  });
})();
