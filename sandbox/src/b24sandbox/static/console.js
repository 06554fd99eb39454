/* b24-sandbox operator console: refresh the live regions every second from /console/live (so new
 * customer messages appear without a reload) and ask before destructive actions. A region that holds
 * the keyboard focus or an open editor is left alone until the operator is done with it. */
(function () {
  "use strict";
  var PERIOD_MS = 1000;
  var shown = new WeakMap();

  function busy(region) {
    return region.contains(document.activeElement) || region.querySelector("details[open]") !== null;
  }

  function refresh() {
    fetch("/console/live" + window.location.search, { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (regions) {
        if (!regions) { return; }
        document.querySelectorAll("[data-live]").forEach(function (region) {
          var html = regions[region.getAttribute("data-live")];
          if (typeof html === "string" && shown.get(region) !== html && !busy(region)) {
            region.innerHTML = html;
            shown.set(region, html);
          }
        });
      })
      .catch(function () { /* the sandbox restarts in tests; try again next tick */ })
      .finally(function () { setTimeout(refresh, PERIOD_MS); });
  }

  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });
  setTimeout(refresh, PERIOD_MS);
})();
