/* Portal photo gallery: a full-screen viewer (tap a photo; swipe, arrow keys or buttons to move;
   Escape, the close button or a tap outside to leave) and uploads with a progress bar.
   Event delegation on the document, so sections the live refresh swaps in keep working. */
(function () {
  "use strict";
  if (window.baylineGallery) { return; }
  window.baylineGallery = true;
  var overlay = null, img = null, caption = null, links = [], index = 0, lastFocus = null, touchX = null;

  function build() {
    overlay = document.createElement("div");
    overlay.className = "viewer";
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-modal", "true");
    overlay.setAttribute("aria-label", "Photo viewer");
    overlay.hidden = true;
    overlay.innerHTML = '<button type="button" class="viewer-close" aria-label="Close">\u00d7</button>' +
      '<button type="button" class="viewer-prev" aria-label="Previous photo">\u2039</button>' +
      '<img alt=""><p class="viewer-caption"></p>' +
      '<button type="button" class="viewer-next" aria-label="Next photo">\u203a</button>';
    document.body.appendChild(overlay);
    img = overlay.querySelector("img");
    caption = overlay.querySelector(".viewer-caption");
    overlay.addEventListener("click", function (e) {
      var t = e.target;
      if (t.classList.contains("viewer-next")) { show(index + 1); }
      else if (t.classList.contains("viewer-prev")) { show(index - 1); }
      else if (t !== img) { close(); }
    });
    overlay.addEventListener("touchstart", function (e) { touchX = e.changedTouches[0].clientX; }, { passive: true });
    overlay.addEventListener("touchend", function (e) {
      if (touchX === null) { return; }
      var dx = e.changedTouches[0].clientX - touchX;
      touchX = null;
      if (Math.abs(dx) > 40) { show(index + (dx < 0 ? 1 : -1)); }
    });
  }

  function show(i) {
    if (!links.length) { return; }
    index = (i + links.length) % links.length;
    var a = links[index], thumb = a.querySelector("img");
    img.src = a.getAttribute("href");
    img.alt = thumb ? thumb.alt : "";
    caption.textContent = (thumb ? thumb.alt : "") + " (" + (index + 1) + " of " + links.length + ")";
  }

  function open(a) {
    if (!overlay) { build(); }
    links = Array.prototype.slice.call(document.querySelectorAll("a[data-viewer]"));
    lastFocus = a;
    overlay.hidden = false;
    document.documentElement.classList.add("viewer-open");
    show(links.indexOf(a));
    overlay.querySelector(".viewer-close").focus();
  }

  function close() {
    if (!overlay || overlay.hidden) { return; }
    overlay.hidden = true;
    img.removeAttribute("src");
    document.documentElement.classList.remove("viewer-open");
    if (lastFocus && document.contains(lastFocus)) { lastFocus.focus(); }
  }

  document.addEventListener("click", function (e) {
    var a = e.target.closest ? e.target.closest("a[data-viewer]") : null;
    if (!a || e.metaKey || e.ctrlKey) { return; }
    e.preventDefault();
    open(a);
  });
  document.addEventListener("keydown", function (e) {
    if (!overlay || overlay.hidden) { return; }
    if (e.key === "Escape") { close(); }
    else if (e.key === "ArrowRight") { show(index + 1); }
    else if (e.key === "ArrowLeft") { show(index - 1); }
  });

  // The live refresh replaces whole sections; keep a customer's chosen files and note across it.
  var picked = null, note = "";
  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("form[data-upload] input[type=file]")) { picked = e.target.files; }
  });
  document.addEventListener("input", function (e) {
    if (e.target.matches && e.target.matches("form[data-upload] input[name=note]")) { note = e.target.value; }
  });
  if (window.MutationObserver) {
    new MutationObserver(function () {
      var form = document.querySelector("form[data-upload]");
      if (!form) { return; }
      var input = form.querySelector("input[type=file]"), text = form.querySelector("input[name=note]");
      if (picked && picked.length && input && !input.files.length) {
        try { input.files = picked; } catch (err) { picked = null; }
      }
      if (text && note && !text.value) { text.value = note; }
    }).observe(document.body, { childList: true, subtree: true });
  }
  function part(sel) { return document.querySelector("form[data-upload] " + sel); }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches || !form.matches("form[data-upload]") || !window.FormData) { return; }
    e.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    function done(ok, text) {
      var status = part("[data-status]"), bar = part("[data-progress]"), button = part("button[type=submit]");
      if (button) { button.disabled = false; }
      if (bar) { bar.hidden = true; }
      if (status) { status.className = "status " + (ok ? "ok" : "error"); status.textContent = text; }
    }
    xhr.upload.onprogress = function (ev) {
      var bar = part("[data-progress]");
      if (bar && ev.lengthComputable) { bar.hidden = false; bar.value = Math.round(ev.loaded * 100 / ev.total); }
    };
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = {}; }
      if (xhr.status === 201) {
        var n = (body.received || []).length;
        picked = null; note = "";
        var f = document.querySelector("form[data-upload]");
        if (f) { f.reset(); }
        done(true, "Thank you, we received " + n + " file" + (n === 1 ? "" : "s") + ".");
      } else {
        done(false, body.message || "The upload did not work. Please try again.");
      }
    };
    xhr.onerror = function () {
      done(false, "The upload did not work. Please check your connection and try again.");
    };
    form.querySelector("button[type=submit]").disabled = true;
    form.querySelector("[data-status]").textContent = "Sending\u2026";
    xhr.send(new FormData(form));
  });
})();
