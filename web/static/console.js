/* Staff console.
   Board: drag a card onto another column to move the claim there. Posts to the same route as the
   arrow buttons (with the CSRF token header), then refreshes the board from the server so counts,
   days-in-stage and the arrow buttons stay right.
   Live: the board and claim pages follow the shop's changes over Server-Sent Events
   (/console/events) and refetch themselves; a section holding the field you are typing in waits
   until you leave it, a half-written reply is kept. */
(function () {
  "use strict";
  if (!window.fetch) { return; }
  var board = document.getElementById("board");
  var claimBox = document.querySelector("[data-live-claim]");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var dragged = null;

  // Copy buttons: data-copy names the field whose value goes to the clipboard.
  document.addEventListener("click", function (e) {
    var button = e.target.closest ? e.target.closest("[data-copy]") : null;
    if (!button) { return; }
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) { return; }
    field.select();
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard) { navigator.clipboard.writeText(field.value).then(done, function () {}); }
  });

  function fetchPage() {
    return fetch(location.pathname + location.search, {
      credentials: "same-origin", cache: "no-cache", headers: { "Accept": "text/html" }
    }).then(function (r) {
      if (!r.ok) { throw new Error(String(r.status)); }
      return r.text();
    }).then(function (html) { return new DOMParser().parseFromString(html, "text/html"); });
  }

  function refreshBoard() {
    if (dragged) { return Promise.resolve(); }  // the drop refreshes when it lands
    return fetchPage().then(function (doc) {
      var fresh = doc.getElementById("board");
      if (fresh && !dragged) { board.innerHTML = fresh.innerHTML; }
    });
  }

  function busy(section) {
    var active = document.activeElement;
    return active && section.contains(active) && active.tagName !== "TEXTAREA" &&
      /^(INPUT|SELECT)$/.test(active.tagName) && active.type !== "hidden";
  }

  var waiting = false;
  function refreshClaim() {
    return fetchPage().then(function (doc) {
      claimBox.querySelectorAll("[data-live]").forEach(function (el) {
        var fresh = doc.getElementById(el.id);
        if (!fresh) { return; }
        if (busy(el)) {
          if (!waiting) {
            waiting = true;
            el.addEventListener("focusout", function later() {
              el.removeEventListener("focusout", later);
              waiting = false;
              setTimeout(refreshClaim, 0);
            });
          }
          return;
        }
        var box = el.querySelector("textarea"), draft = box ? box.value : null;
        var focused = box && document.activeElement === box;
        el.innerHTML = fresh.innerHTML;
        var nbox = el.querySelector("textarea");
        if (nbox && draft) { nbox.value = draft; }
        if (nbox && focused) { nbox.focus(); }
      });
      document.body.setAttribute("data-updated", String(Date.now()));
    });
  }

  function status(text) {
    var box = document.getElementById("board-status");
    if (!box) {
      box = document.createElement("p");
      box.id = "board-status";
      box.setAttribute("role", "status");
      board.parentNode.insertBefore(box, board);
    }
    box.textContent = text;
  }

  if (board && meta) {
    board.addEventListener("dragstart", function (e) {
      var card = e.target.closest ? e.target.closest(".ticket[data-move-url]") : null;
      if (!card) { return; }
      dragged = card;
      card.classList.add("dragging");
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", card.getAttribute("data-claim-id"));
    });
    board.addEventListener("dragend", function () {
      if (dragged) { dragged.classList.remove("dragging"); }
      dragged = null;
      board.querySelectorAll(".drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
    });
    board.addEventListener("dragover", function (e) {
      var column = e.target.closest ? e.target.closest(".column") : null;
      if (!column || !dragged) { return; }
      e.preventDefault();
      e.dataTransfer.dropEffect = "move";
      board.querySelectorAll(".drop-target").forEach(function (c) { if (c !== column) { c.classList.remove("drop-target"); } });
      column.classList.add("drop-target");
    });
    board.addEventListener("drop", function (e) {
      var column = e.target.closest ? e.target.closest(".column") : null;
      if (!column || !dragged) { return; }
      e.preventDefault();
      var card = dragged;
      dragged = null;
      column.classList.remove("drop-target");
      if (card.parentNode === column) { return; }
      var body = new FormData();
      body.append("stage_id", column.getAttribute("data-stage-id"));
      column.appendChild(card);  // optimistic; the refresh below puts the truth back
      fetch(card.getAttribute("data-move-url"), {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRFToken": meta.getAttribute("content"), "Accept": "application/json" }
      }).then(function (r) {
        return r.json().then(function (data) {
          if (!r.ok) { throw new Error(data.message || "The move failed."); }
          status("Moved to " + data.stage + ".");
        });
      }).catch(function (err) {
        status("Could not move the claim: " + err.message);
      }).then(refreshBoard);
    });
  }

  if ((!board && !claimBox) || !("EventSource" in window)) { return; }
  var pending = false, running = false;
  function refresh() {  // one refetch at a time; changes during it cause one more
    if (running) { pending = true; return; }
    running = true;
    (board ? refreshBoard() : refreshClaim()).catch(function () {}).then(function () {
      running = false;
      if (pending) { pending = false; refresh(); }
    });
  }
  var opened = false;
  var source = new EventSource("/console/events");
  source.onmessage = function (e) {
    var data = {};
    try { data = JSON.parse(e.data); } catch (err) { return; }
    if (board || String(data.claim_id) === claimBox.getAttribute("data-live-claim")) { refresh(); }
  };
  source.onopen = function () {
    if (opened) { refresh(); }  // reconnected: something may have changed meanwhile
    opened = true;
    document.body.setAttribute("data-live", "connected");
  };
  source.onerror = function () { document.body.setAttribute("data-live", "retrying"); };
})();
