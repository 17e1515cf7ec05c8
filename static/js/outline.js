// The sections of a large course's syllabus (course home) and outline (beside a lesson): the server shows the
// lessons of the section a student needs first; each other section's heading is a link to the page with that
// section open. Here each such link becomes a disclosure button (aria-expanded, aria-controls) that loads the
// section's lessons from the server the first time, then shows and hides them. Focus stays on the button.
(function () {
  "use strict";

  function status(text) {
    var region = document.getElementById("outline-status");
    if (!region) {
      region = document.createElement("p");
      region.id = "outline-status";
      region.className = "visually-hidden";
      region.setAttribute("role", "status");
      document.body.appendChild(region);
    }
    region.textContent = text;
  }

  function upgrade(link) {
    var box = document.getElementById(link.getAttribute("aria-controls"));
    if (!box) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "section-toggle";
    button.setAttribute("aria-controls", box.id);
    button.setAttribute("aria-expanded", link.dataset.expanded === "true" ? "true" : "false");
    button.dataset.fragment = link.dataset.fragment;
    button.dataset.href = link.href;
    while (link.firstChild) button.appendChild(link.firstChild);
    link.replaceWith(button);
    button.addEventListener("click", function () { toggle(button, box); });
  }

  function toggle(button, box) {
    if (button.getAttribute("aria-expanded") === "true") {
      button.setAttribute("aria-expanded", "false");
      box.hidden = true;
      return;
    }
    if (box.childElementCount) {
      button.setAttribute("aria-expanded", "true");
      box.hidden = false;
      return;
    }
    if (button.getAttribute("aria-busy") === "true") return;
    button.setAttribute("aria-busy", "true");
    fetch(button.dataset.fragment, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok || response.redirected) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        box.innerHTML = html;
        box.hidden = false;
        button.setAttribute("aria-expanded", "true");
        button.removeAttribute("aria-busy");
      })
      .catch(function () {
        // Logged out, or the network: the page with the section open says what the server says.
        button.removeAttribute("aria-busy");
        status("Could not load the lessons of this section; opening the page with them.");
        window.location.assign(button.dataset.href);
      });
  }

  document.querySelectorAll("a.section-toggle[data-fragment]").forEach(upgrade);
})();
