// The helpline's web chat: plain JS, same origin, no third-party code.
(function () {
  "use strict";
  var chat = document.querySelector(".chat");
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var box = document.getElementById("message");
  var send = document.getElementById("send");
  var status = document.getElementById("status");
  var outcome = document.getElementById("outcome");
  var busy = false;
  var restoring = true;  // until the history is shown: a message sent meanwhile waits for it
  var waiting = null;
  var OFFLINE = "Sorry, your message could not be sent. If a life is at risk, call 999. " +
    "After a needlestick or splash, if in doubt go to the emergency department now. Please try again.";

  function newId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return "m" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }

  function bubble(who, text) {
    var li = document.createElement("li");
    li.className = "msg " + who;
    var label = document.createElement("span");
    label.className = "visually-hidden";
    label.textContent = who === "user" ? "You said: " : "Helpline: ";
    li.appendChild(label);
    var p = document.createElement("p");
    p.textContent = text;
    li.appendChild(p);
    log.appendChild(li);
    return li;
  }

  function choices(li, buttons) {
    var group = document.createElement("div");
    group.className = "choices";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Quick replies");
    buttons.forEach(function (b) {
      var btn = document.createElement("button");
      btn.type = "button";
      btn.className = "choice";
      btn.textContent = b.title;
      btn.setAttribute("data-payload", b.payload);
      group.appendChild(btn);
    });
    li.appendChild(group);
  }

  function retireChoices() {
    var old = log.querySelectorAll(".choice");
    for (var i = 0; i < old.length; i++) { old[i].disabled = true; }
  }

  // The confirmation panel: every word comes from the API (api/channels/outcome.py).
  function showOutcome(data) {
    if (!data || !data.ref) { return; }
    document.getElementById("outcome-ref").textContent = data.ref;
    document.getElementById("outcome-urgency").textContent = data.urgency_words || "";
    var list = document.getElementById("outcome-next");
    while (list.firstChild) { list.removeChild(list.firstChild); }
    (data.next_steps || []).forEach(function (step) {
      var li = document.createElement("li");
      li.textContent = step;
      list.appendChild(li);
    });
    var deadline = document.getElementById("outcome-deadline");
    deadline.textContent = data.deadline || "";
    deadline.hidden = !data.deadline;
    outcome.className = "outcome" + (data.urgency ? " outcome-" + data.urgency : "");
    outcome.hidden = false;
  }

  // A reply is read from its first message: that message goes to the top of the log, and the
  // page scrolls as little as it can to show the whole chat (panel, log and message box).
  function reveal(first) {
    if (first) { log.scrollTop = Math.max(first.offsetTop - 8, 0); }
    var rect = chat.getBoundingClientRect();
    var height = window.innerHeight || document.documentElement.clientHeight;
    if (rect.bottom > height) { window.scrollBy(0, Math.min(rect.bottom - height, rect.top)); }
    else if (rect.top < 0) { window.scrollBy(0, rect.top); }
  }

  function setBusy(on) {
    busy = on;
    send.disabled = on;
    log.setAttribute("aria-busy", on ? "true" : "false");
    status.textContent = on ? "Sending\u2026" : "";
  }

  function post(body, attempt) {
    return fetch("/chat/messages", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json"},
      body: JSON.stringify(body)
    }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    }).catch(function (err) {
      if (attempt < 1) { return post(body, attempt + 1); }  // same client_id: never a second turn
      throw err;
    });
  }

  function say(text, payload) {
    if (busy || !text.trim()) { return false; }
    if (restoring) {
      if (waiting) { return false; }
      waiting = function () { say(text, payload); };
      return true;
    }
    retireChoices();
    bubble("user", text);
    setBusy(true);
    var first = null;
    var body = {text: text, client_id: newId()};
    if (payload) { body.payload = payload; }
    post(body, 0).then(function (data) {
      (data.messages || []).forEach(function (m) {
        var li = bubble("bot", m.text || "");
        if (m.buttons && m.buttons.length) { choices(li, m.buttons); }
        first = first || li;
      });
      showOutcome(data.outcome);
    }).catch(function () {
      first = bubble("bot", OFFLINE);
      if (!payload) { box.value = text; }
    }).then(function () {
      setBusy(false);
      reveal(first);
    });
    return true;
  }

  // After a reload: the conversation so far and its case, from the API (the cookie's
  // conversation only). Only the last reply's quick replies can still be chosen.
  function restore() {
    fetch("/chat/history", {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      }).then(function (data) {
        var turns = data.turns || [];
        if (!turns.length) { return; }
        var first = null;
        retireChoices();
        turns.forEach(function (t) {
          if (t.from === "user") {
            retireChoices();
            bubble("user", t.text);
            first = null;
          } else {
            var li = bubble("bot", t.text || "");
            if (t.buttons && t.buttons.length) { choices(li, t.buttons); }
            first = first || li;
          }
        });
        showOutcome(data.outcome);
        if (data.outcome || first) { reveal(first || log.lastElementChild); }
      }).catch(function () { /* a fresh page still works */ })
      .then(function () {
        restoring = false;
        if (waiting) { var next = waiting; waiting = null; next(); }
      });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (say(box.value, null)) { box.value = ""; }
    box.focus();
  });

  box.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", {cancelable: true}));
    }
  });

  log.addEventListener("click", function (e) {
    var btn = e.target.closest ? e.target.closest(".choice") : null;
    if (!btn || btn.disabled) { return; }
    say(btn.textContent, btn.getAttribute("data-payload"));
    box.focus();
  });

  restore();
})();
