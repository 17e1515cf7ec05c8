// Time zones: offer the browser's zone when it differs from the saved one (base.html), and a search box
// that narrows the profile's list of zones (accounts/profile.html). The server checks every zone posted.
(function () {
  "use strict";

  var DISMISSED = "courseweb.zoneOfferDismissed"; // the browser zone the student said "Not now" to

  var browserZone = function () {
    try {
      return (window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone) || "";
    } catch (error) {
      return "";
    }
  };

  var remembered = function () {
    try {
      return window.localStorage.getItem(DISMISSED);
    } catch (error) {
      return null;
    }
  };

  var offer = document.getElementById("timezone-offer");
  var zone = browserZone();
  if (offer && zone && zone !== offer.getAttribute("data-user-zone") && remembered() !== zone) {
    offer.querySelector("input[name=timezone]").value = zone;
    Array.prototype.forEach.call(offer.querySelectorAll(".browser-zone"), function (el) {
      el.textContent = zone;
    });
    offer.hidden = false;
    offer.querySelector("[data-dismiss-zone]").addEventListener("click", function () {
      try {
        window.localStorage.setItem(DISMISSED, zone);
      } catch (error) {
        // Private mode: the offer comes back on the next page, nothing worse.
      }
      offer.hidden = true;
      var main = document.getElementById("main");
      if (main) main.focus();
    });
  }

  // The profile's zone search: keeps the options that contain every word typed ("new york", "berlin").
  var search = document.querySelector("input[data-zone-select]");
  var select = search && document.getElementById(search.getAttribute("data-zone-select"));
  if (search && select) {
    var all = Array.prototype.map.call(select.options, function (option) {
      return { value: option.value, label: option.textContent, key: (option.value + " " + option.textContent).toLowerCase().replace(/_/g, " ") };
    });
    var count = document.getElementById("timezone-search-count");
    var chosen = select.value;
    search.closest("[hidden]").hidden = false;
    search.addEventListener("input", function () {
      var words = search.value.toLowerCase().replace(/_/g, " ").split(/[\s/]+/).filter(Boolean);
      var matches = all.filter(function (zone) {
        return words.every(function (word) { return zone.key.indexOf(word) !== -1; });
      });
      var none = words.length && !matches.length;
      if (!words.length || none) matches = all; // nothing to narrow to: keep every zone (and the current one)
      select.textContent = "";
      matches.forEach(function (zone) {
        var option = document.createElement("option");
        option.value = zone.value;
        option.textContent = zone.label;
        select.appendChild(option);
      });
      if (matches.some(function (zone) { return zone.value === chosen; })) {
        select.value = chosen;
      } else if (matches.length) {
        select.value = matches[0].value;
      }
      count.textContent = none ? "No zone matches. Try a city or region name."
        : matches.length === 1 ? "1 zone matches: " + matches[0].value + " is chosen."
        : matches.length + " zones match; " + select.value + " is chosen.";
    });
    select.addEventListener("change", function () { chosen = select.value; });
  }
})();
