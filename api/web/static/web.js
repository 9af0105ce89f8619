/* Dashboard behaviour: ticking ages, highlighting new cases, confirm prompts. No inline script
   (the pages' CSP allows only this file and htmx). */
(function () {
  "use strict";
  var offset = 0; // server clock minus browser clock, so ages agree with the server
  var seen = null;
  var baseTitle = document.title;

  function syncOffset() {
    var el = document.querySelector("[data-server-now]");
    if (!el) return;
    var t = Date.parse(el.getAttribute("data-server-now"));
    if (!isNaN(t)) offset = t - Date.now();
  }

  function fmt(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    var d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600);
    var m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + pad(m) + "m";
    if (m) return m + "m " + pad(s) + "s";
    return s + "s";
  }

  function tick() {
    var now = Date.now() + offset;
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var t = Date.parse(el.getAttribute("data-since"));
      if (!isNaN(t)) el.textContent = fmt((now - t) / 1000);
    });
  }

  function markNew() {
    var rows = document.querySelectorAll(".q-row[data-ref]");
    var refs = {};
    rows.forEach(function (row) {
      var ref = row.getAttribute("data-ref");
      refs[ref] = true;
      if (seen && !seen[ref]) row.classList.add("is-new");
    });
    seen = refs;
    var meta = document.querySelector("[data-emergencies]");
    if (meta) {
      var n = parseInt(meta.getAttribute("data-emergencies"), 10) || 0;
      document.title = (n ? "(" + n + ") EMERGENCY · " : "") + baseTitle;
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
  }, true);

  document.addEventListener("htmx:afterSwap", function () { syncOffset(); markNew(); tick(); });

  document.addEventListener("DOMContentLoaded", function () {
    // GOV.UK error summary: focus it on load so a screen reader reads the problems first.
    var summary = document.querySelector("[data-error-summary]");
    if (summary) summary.focus();
    syncOffset(); markNew(); tick();
    window.setInterval(tick, 1000);
  });
})();
