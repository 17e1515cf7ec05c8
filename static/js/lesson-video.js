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
  var completed = video.dataset.completed === "1";

  function seek(seconds) {
    if (video.readyState < 1) {
      // No duration yet: seek as soon as the metadata is in.
      video.addEventListener("loadedmetadata", function () { seek(seconds); }, { once: true });
      return;
    }
    try { video.currentTime = seconds; } catch (e) { /* not seekable */ }
  }

  // A link to a moment of the video (#t=754, from a forum thread) wins over the saved place.
  var linked = /^#t=(\d+(?:\.\d+)?)$/.exec(window.location.hash);
  if (linked) resumeAt = parseFloat(linked[1]);
  if (resumeAt > 0) seek(resumeAt);
  window.addEventListener("hashchange", function () {
    var match = /^#t=(\d+(?:\.\d+)?)$/.exec(window.location.hash);
    if (match) seek(parseFloat(match[1]));
  });

  function body() {
    var data = new FormData();
    data.append("seconds", String(Math.floor(video.currentTime)));
    // The server completes the lesson once the furthest point reached passes 90 % of this.
    if (isFinite(video.duration) && video.duration > 0) data.append("duration", String(video.duration));
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
        headers: { "X-CSRFToken": csrf } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (data && data.completed && !completed) {
            completed = true;
            document.dispatchEvent(new CustomEvent("courseweb:lesson-completed", {
              detail: { message: "You watched the video: this lesson is now marked complete." } }));
          }
        })
        .catch(function () {});
    }
  }

  var timer = null;
  video.addEventListener("play", function () { timer = timer || setInterval(function () { save(false); }, 5000); });
  video.addEventListener("pause", function () { clearInterval(timer); timer = null; save(false); });
  video.addEventListener("seeked", function () { if (video.paused) save(false); });
  video.addEventListener("ended", function () { save(false); });
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
      lines.forEach(function (button) {
        var active = button === current;
        button.parentElement.classList.toggle("active", active);
        if (active) button.setAttribute("aria-current", "true"); else button.removeAttribute("aria-current");
      });
    });
  }
})();
