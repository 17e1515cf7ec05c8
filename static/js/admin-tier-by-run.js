// The enrollment form offers only the chosen run's tiers. The server refuses a tier of another run
// anyway (Enrollment.clean); this only saves a round trip. Options carry data-run (enrollment/admin.py).
(function () {
  "use strict";
  function filter(run, tier) {
    var chosen = run.value;
    Array.prototype.forEach.call(tier.options, function (option) {
      var other = option.dataset.run && chosen && option.dataset.run !== chosen;
      option.hidden = !!other;
      option.disabled = !!other;
      if (other && option.selected) { tier.value = ""; }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var run = document.getElementById("id_run");
    var tier = document.getElementById("id_tier");
    if (!run || !tier || run.tagName !== "SELECT") { return; }
    run.addEventListener("change", function () { filter(run, tier); });
    filter(run, tier);
  });
})();
