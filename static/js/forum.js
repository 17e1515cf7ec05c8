// Forum: "Ask about this lesson" takes the video's current time; a Markdown preview for the compose forms.
(function () {
  "use strict";

  var ask = document.getElementById("ask-about-lesson");
  if (ask) {
    ask.addEventListener("click", function () {
      var video = document.getElementById("lesson-video");
      if (!video) return;
      var url = new URL(ask.href, window.location.href);
      url.searchParams.set("t", String(Math.floor(video.currentTime || 0)));
      ask.href = url.toString();
    });
  }

  var csrf = function (form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  };

  Array.prototype.forEach.call(document.querySelectorAll("form.forum-compose"), function (form) {
    var button = form.querySelector(".preview-button");
    var output = form.querySelector(".preview-output");
    var body = form.querySelector("textarea[name=body]");
    if (!button || !output || !body) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var data = new FormData();
      data.append("body", body.value);
      data.append("csrfmiddlewaretoken", csrf(form));
      fetch(form.dataset.previewUrl, { method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRFToken": csrf(form) } })
        .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
        .then(function (html) {
          // The server returns sanitised HTML (the same cleaner as a saved post).
          output.innerHTML = html || "<p><em>Nothing to preview.</em></p>";
          output.hidden = false;
        })
        .catch(function () {
          output.textContent = "The preview is not available right now.";
          output.hidden = false;
        });
    });
  });

  // A submitted form cannot be sent twice by a double click (the server would find the same post anyway).
  Array.prototype.forEach.call(document.querySelectorAll("form.forum-compose"), function (form) {
    form.addEventListener("submit", function () {
      var submit = form.querySelector("button[type=submit]");
      if (submit) setTimeout(function () { submit.disabled = true; }, 0);
    });
  });
})();
