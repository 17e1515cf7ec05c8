// Dismiss an announcement of the course home in place: post the form, remove the announcement, say so in
// the status line and move focus to the next announcement (or the page's heading). Without this script
// (or if the request fails) the form posts as usual and the page comes back with a message.
(function () {
  "use strict";
  var status = document.getElementById("announcement-status");
  Array.prototype.forEach.call(document.querySelectorAll("form[data-dismiss-announcement]"), function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button");
      button.disabled = true;
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (data) {
          var article = form.closest("article");
          var section = article.closest("[data-announcements]");
          var next = article.nextElementSibling || article.previousElementSibling;
          article.remove();
          if (!section.querySelector("article")) section.hidden = true;
          status.textContent = data.message;
          var target = next && next.matches("article") ? next.querySelector("h3") : document.getElementById("course-title");
          target.focus();
        })
        .catch(function () {
          form.submit();
        });
    });
  });
})();
