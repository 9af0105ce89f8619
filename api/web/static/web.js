/* Dashboard behaviour: ticking ages, the live queue (a refresh keeps focus and scroll; new cases
   are marked "New" and read out once), confirm prompts, the error summary's focus. No inline
   script (the pages' CSP allows only this file and htmx). Nothing is put on window. */
(function () {
  "use strict";
  var offset = 0; // server clock minus browser clock, so ages agree with the server
  var baseTitle = document.title;

  // A "New" marker stays at least this long, and until its row has been on screen (in a
  // visible tab) for NEW_SEEN_MS in all: someone away from the desk still sees what came in.
  var NEW_FOR_MS = 2 * 60 * 1000;
  var NEW_SEEN_MS = 10 * 1000;
  var STORE = "oh-queue"; // sessionStorage: survives refreshes and visits to a case page
  var memory = null; // {known: {ref: true}, fresh: {ref: {since: ms, seen: ms}}}
  var lastTick = Date.now();
  var before = null; // focus and scroll just before a queue swap
  var sentAt = new WeakMap(); // a poll's request -> when it was sent
  var actionsInFlight = 0, actionSentAt = 0;
  var lastActionAt = 0; // a poll sent before this is older than what an action just drew
  var stale = false;

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

  /* ---- the live queue ---- */

  function queue() { return document.getElementById("queue"); }

  function rows() {
    var q = queue();
    return q ? Array.prototype.slice.call(q.querySelectorAll(".q-row[data-ref]")) : [];
  }

  function refOf(row) { return row.getAttribute("data-ref"); }

  function rowFor(ref) {
    var q = queue();
    return ref && q ? q.querySelector('.q-row[data-ref="' + CSS.escape(ref) + '"]') : null;
  }

  function load() {
    try {
      var saved = JSON.parse(window.sessionStorage.getItem(STORE) || "null");
      if (saved && saved.known && saved.fresh) return saved;
    } catch (e) { /* storage off or spoilt: start again */ }
    return null;
  }

  function save() {
    try { window.sessionStorage.setItem(STORE, JSON.stringify(memory)); } catch (e) { /* memory only */ }
  }

  function announce(text) {
    var region = document.getElementById("queue-announcer");
    if (!region || !text) return;
    // Emptied first, so a screen reader hears the new words as a change.
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 100);
  }

  function markRow(row, justArrived) {
    row.classList.add("is-new");
    if (justArrived) row.classList.add("just-arrived"); // the one-off highlight, not on every refresh
    var cell = row.querySelector("th[scope=row]");
    if (cell && !cell.querySelector(".q-new")) {
      var tag = document.createElement("span");
      tag.className = "tag q-new";
      tag.textContent = "New";
      var link = cell.querySelector(".ref");
      cell.insertBefore(tag, link ? link.nextSibling : cell.firstChild);
      if (link) cell.insertBefore(document.createTextNode(" "), tag);
    }
  }

  function unmarkRow(row) {
    row.classList.remove("is-new", "just-arrived");
    row.querySelectorAll(".q-new").forEach(function (tag) { tag.remove(); });
  }

  /* Which rows are new since this tab first showed the queue: mark them, and read out the ones
     not seen before (once each). The first visit only notes what is already waiting. */
  function reconcile() {
    if (!queue()) return;
    var present = rows();
    if (memory === null) memory = load() || {known: null, fresh: {}};
    var now = Date.now(), current = {}, arrivals = [];
    present.forEach(function (row) {
      var ref = refOf(row);
      current[ref] = true;
      if (memory.known && !memory.known[ref]) {
        memory.fresh[ref] = {since: now, seen: 0};
        arrivals.push(row);
      }
    });
    Object.keys(memory.fresh).forEach(function (ref) { if (!current[ref]) delete memory.fresh[ref]; });
    memory.known = current; // a case that leaves the queue and comes back is new again
    save();
    present.forEach(function (row) {
      if (memory.fresh[refOf(row)]) markRow(row, arrivals.indexOf(row) >= 0);
    });
    if (arrivals.length) {
      announce(arrivals.map(function (row) { return row.getAttribute("data-announce"); }).join(" "));
    }
    var meta = document.querySelector("[data-emergencies]");
    if (meta) {
      var n = parseInt(meta.getAttribute("data-emergencies"), 10) || 0;
      document.title = (n ? "(" + n + ") EMERGENCY · " : "") + baseTitle;
    }
  }

  function onScreen(row) {
    var box = row.getBoundingClientRect();
    return box.height > 0 && box.bottom > 0 && box.top < window.innerHeight;
  }

  function ageNewMarkers() {
    var now = Date.now(), step = Math.min(now - lastTick, 2000);
    lastTick = now;
    if (!memory || !memory.fresh) return;
    var looking = document.visibilityState === "visible", changed = false;
    Object.keys(memory.fresh).forEach(function (ref) {
      var entry = memory.fresh[ref], row = rowFor(ref);
      if (!row) return;
      if (looking && onScreen(row)) { entry.seen += step; changed = true; }
      if (now - entry.since >= NEW_FOR_MS && entry.seen >= NEW_SEEN_MS) {
        delete memory.fresh[ref];
        unmarkRow(row);
        changed = true;
      }
    });
    if (changed) save();
  }

  function typingIn(container) {
    var el = document.activeElement;
    if (!el || !container.contains(el)) return false;
    return el.isContentEditable || el.matches("textarea, select, input:not([type=hidden]):not([type=submit]):not([type=button])");
  }

  function rememberFocus(container, action) {
    var el = document.activeElement;
    var inside = !!(el && el !== container && container.contains(el));
    var row = inside ? el.closest(".q-row") : null;
    var all = rows(), at = row ? all.indexOf(row) : -1;
    return {
      action: action, inside: inside, id: inside ? el.id : "", ref: row ? refOf(row) : "",
      after: at >= 0 ? all.slice(at + 1).map(refOf) : [],
      before: at >= 0 ? all.slice(0, at).reverse().map(refOf) : [],
      x: window.scrollX, y: window.scrollY
    };
  }

  function firstControl(ref) {
    var row = rowFor(ref);
    return row ? row.querySelector("a[href], button:not([disabled])") : null;
  }

  function firstRowControl(refs) {
    for (var i = 0; i < refs.length; i++) {
      var found = firstControl(refs[i]);
      if (found) return found;
    }
    return null;
  }

  function byId(id) { return id ? document.getElementById(id) : null; }

  /* After a swap: the same control by its id (htmx may have done it), else the same row, the
     next row, the row before, the queue's heading; after an action, its message. Never body. */
  function restoreFocus(was) {
    window.scrollTo(was.x, was.y);
    var target = null;
    if (was.action) target = byId("queue-error") || byId("queue-flash");
    if (!target && was.inside) {
      target = byId(was.id) || firstControl(was.ref) || firstRowControl(was.after) ||
        firstRowControl(was.before) || byId("queue-heading");
    }
    if (!target) return;
    if (document.activeElement !== target) target.focus({preventScroll: true});
    var box = target.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) target.scrollIntoView({block: "nearest"});
  }

  function showStale(isStale) {
    if (stale === isStale) return;
    stale = isStale;
    var clock = document.querySelector("[data-updated]");
    if (isStale) {
      if (clock) clock.textContent = "Not updating: trying again";
      announce("The queue has stopped updating. Check your connection, or refresh the queue.");
    } else {
      announce("The queue is updating again.");
    }
  }

  function isPoll(evt) {
    var cfg = evt.detail && evt.detail.requestConfig;
    return evt.target === queue() && (!cfg || String(cfg.verb).toLowerCase() === "get");
  }

  document.addEventListener("htmx:beforeRequest", function (evt) {
    if (!queue() || !evt.detail || !evt.detail.xhr) return;
    if (isPoll(evt)) sentAt.set(evt.detail.xhr, Date.now());
    else if (queue().contains(evt.target)) { actionsInFlight += 1; actionSentAt = Date.now(); }
  });

  document.addEventListener("htmx:afterRequest", function (evt) {
    var q = queue();
    if (!q || isPoll(evt) || !evt.detail || evt.detail.target !== q) return;
    actionsInFlight = Math.max(0, actionsInFlight - 1);
    lastActionAt = Date.now();
  });

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var q = queue();
    if (!q || evt.detail.target !== q) return;
    var poll = isPoll(evt);
    if (poll) {
      var sent = sentAt.get(evt.detail.xhr) || 0;
      // An action's answer still to come (forgotten after 30 s, should its end go unheard).
      var acting = actionsInFlight > 0 && Date.now() - actionSentAt < 30000;
      if (acting || sent < lastActionAt || typingIn(q)) { evt.detail.shouldSwap = false; return; }
      if (!evt.detail.shouldSwap) return;
      var incoming = new DOMParser().parseFromString(evt.detail.serverResponse || "", "text/html");
      var fresh = incoming.querySelector("[data-version]"), shown = q.querySelector("[data-version]");
      if (!fresh) { evt.detail.shouldSwap = false; showStale(true); return; }
      showStale(false);
      if (shown && shown.getAttribute("data-version") === fresh.getAttribute("data-version")) {
        // Nothing a row says has changed: leave the DOM (and so focus and a screen reader's
        // place) alone; only the "Updated" clock and the server time move on.
        evt.detail.shouldSwap = false;
        shown.setAttribute("data-server-now", fresh.getAttribute("data-server-now") || "");
        var clock = shown.querySelector("[data-updated]"), next = fresh.querySelector("[data-updated]");
        if (clock && next) clock.textContent = next.textContent;
        syncOffset();
        return;
      }
    }
    if (evt.detail.shouldSwap) before = rememberFocus(q, !poll);
  });

  document.addEventListener("htmx:afterSwap", function (evt) {
    var q = queue();
    if (!q || evt.target !== q || !before) return;
    var was = before;
    before = null;
    syncOffset(); reconcile(); tick();
    restoreFocus(was);
  });

  document.addEventListener("htmx:sendError", function (evt) { if (isPoll(evt)) showStale(true); });
  document.addEventListener("htmx:responseError", function (evt) { if (isPoll(evt)) showStale(true); });

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
  }, true);

  document.addEventListener("DOMContentLoaded", function () {
    // GOV.UK error summary: focus it on load so a screen reader reads the problems first.
    var summary = document.querySelector("[data-error-summary]");
    if (summary) summary.focus();
    syncOffset(); reconcile(); tick();
    window.setInterval(function () { tick(); ageNewMarkers(); }, 1000);
  });
})();
