// Lesson video: resume where the student stopped, save the position while they
// watch and when the tab closes, playback speed, and a clickable transcript.
(function () {
  "use strict";
  var video = document.getElementById("lesson-video");
  if (!video) return;
  var positionUrl = video.dataset.positionUrl;
  var resumeAt = parseFloat(video.dataset.resume || "0");
  var csrf = (document.querySelector("input[name=csrfmiddlewaretoken]") || {}).value ||
    (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
  var lastSaved = resumeAt;

  function seek(seconds) {
    try { video.currentTime = seconds; } catch (e) { /* not seekable yet */ }
  }

  if (resumeAt > 0) {
    if (video.readyState >= 1) seek(resumeAt);
    else video.addEventListener("loadedmetadata", function () { seek(resumeAt); }, { once: true });
  }

  function body() {
    var data = new FormData();
    data.append("seconds", String(Math.floor(video.currentTime)));
    data.append("csrfmiddlewaretoken", csrf);
    return data;
  }

  function save(onUnload) {
    if (!positionUrl) return;
    var now = Math.floor(video.currentTime);
    if (now === Math.floor(lastSaved)) return;
    lastSaved = now;
    if (onUnload && navigator.sendBeacon) {
      navigator.sendBeacon(positionUrl, body());
    } else {
      fetch(positionUrl, { method: "POST", body: body(), credentials: "same-origin", keepalive: true,
        headers: { "X-CSRFToken": csrf } }).catch(function () {});
    }
  }

  var timer = null;
  video.addEventListener("play", function () { timer = timer || setInterval(function () { save(false); }, 5000); });
  video.addEventListener("pause", function () { clearInterval(timer); timer = null; save(false); });
  video.addEventListener("seeked", function () { if (video.paused) save(false); });
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") save(true); });
  window.addEventListener("pagehide", function () { save(true); });

  var rate = document.getElementById("playback-rate");
  if (rate) {
    var stored = window.localStorage && localStorage.getItem("courseweb.playbackRate");
    if (stored) { rate.value = stored; video.playbackRate = parseFloat(stored) || 1; }
    rate.addEventListener("change", function () {
      video.playbackRate = parseFloat(rate.value) || 1;
      try { localStorage.setItem("courseweb.playbackRate", rate.value); } catch (e) { /* private mode */ }
    });
  }

  var lines = Array.prototype.slice.call(document.querySelectorAll("[data-seek]"));
  lines.forEach(function (button) {
    button.addEventListener("click", function () {
      seek(parseFloat(button.dataset.seek));
      video.focus();
    });
  });
  if (lines.length) {
    video.addEventListener("timeupdate", function () {
      var current = null;
      lines.forEach(function (button) { if (parseFloat(button.dataset.seek) <= video.currentTime) current = button; });
      lines.forEach(function (button) { button.parentElement.classList.toggle("active", button === current); });
    });
  }
})();
