// The helpline's web chat: plain JS, same origin, no third-party code.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var box = document.getElementById("message");
  var send = document.getElementById("send");
  var status = document.getElementById("status");
  var busy = false;
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
    if (busy || !text.trim()) { return; }
    retireChoices();
    bubble("user", text);
    setBusy(true);
    var body = {text: text, client_id: newId()};
    if (payload) { body.payload = payload; }
    post(body, 0).then(function (data) {
      (data.messages || []).forEach(function (m) {
        var li = bubble("bot", m.text || "");
        if (m.buttons && m.buttons.length) { choices(li, m.buttons); }
      });
    }).catch(function () {
      bubble("bot", OFFLINE);
      if (!payload) { box.value = text; }
    }).then(function () {
      setBusy(false);
      log.scrollTop = log.scrollHeight;
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = box.value;
    box.value = "";
    say(text, null);
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
})();
