// Office hours: a countdown to the next session (the offer of the device's time zone is on every page: timezone.js).
(function () {
  "use strict";

  var countdown = document.querySelector(".countdown[data-starts-at]");
  if (countdown) {
    var startsAt = Date.parse(countdown.getAttribute("data-starts-at"));
    var plural = function (n, word) { return n + " " + word + (n === 1 ? "" : "s"); };
    var tick = function () {
      var minutes = Math.floor((startsAt - Date.now()) / 60000);
      if (isNaN(startsAt)) return;
      if (minutes <= 0) {
        countdown.textContent = "Starting now.";
        return;
      }
      var days = Math.floor(minutes / 1440);
      var hours = Math.floor((minutes % 1440) / 60);
      var parts = days ? [plural(days, "day"), plural(hours, "hour")]
        : hours ? [plural(hours, "hour"), plural(minutes % 60, "minute")] : [plural(minutes, "minute")];
      countdown.textContent = "Starts in " + parts.join(", ") + ".";
    };
    tick();
    window.setInterval(tick, 30000);
  }
})();
