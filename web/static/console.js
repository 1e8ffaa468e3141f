/* Production board: drag a card onto another column to move the claim there.
   Posts to the same route as the arrow buttons (with the CSRF token header), then refreshes the
   board from the server so counts, days-in-stage and the arrow buttons stay right. */
(function () {
  "use strict";
  var board = document.getElementById("board");
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (!board || !meta || !window.fetch) { return; }
  var dragged = null;

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

  function refresh() {
    return fetch(location.pathname, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("board");
        if (fresh) { board.innerHTML = fresh.innerHTML; }
      });
  }

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
    }).then(refresh);
  });
})();
