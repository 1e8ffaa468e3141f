/* Live portal page: refresh the [data-live] sections when the server says something changed.
   Server-Sent Events first; polling every 15 s when the stream is blocked or keeps failing. */
(function () {
  "use strict";
  var busy = false, again = false, pollTimer = null, source = null;

  function swap(doc) {
    document.querySelectorAll("[data-live]").forEach(function (el) {
      var fresh = doc.getElementById(el.id);
      if (!fresh) { return; }
      var box = el.querySelector("textarea"), draft = box ? box.value : null;
      var focused = box && document.activeElement === box;
      el.innerHTML = fresh.innerHTML;
      var nbox = el.querySelector("textarea");
      if (nbox && draft !== null) { nbox.value = draft; if (focused) { nbox.focus(); } }
    });
    document.body.setAttribute("data-updated", String(Date.now()));
  }

  function ended(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    if (source) { source.close(); }
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
    document.title = doc.title;
    document.body.innerHTML = doc.body.innerHTML;
    document.body.setAttribute("data-live", "ended");
  }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    // no-cache: something changed, so ask past the server's page cache for a fresh copy.
    fetch(location.pathname, { credentials: "same-origin", cache: "no-cache", headers: { "Accept": "text/html" } })
      .then(function (r) {
        // 404: the session ended (its link was revoked, or the repair's links expired): show the
        // server's "link isn't working" page in place, now, rather than on the next reload.
        if (r.status === 404) { return r.text().then(ended); }
        if (!r.ok) { throw new Error(String(r.status)); }
        return r.text().then(function (html) { swap(new DOMParser().parseFromString(html, "text/html")); });
      })
      .catch(function () {})
      .then(function () { busy = false; if (again) { again = false; refresh(); } });
  }

  function poll() { if (!pollTimer) { pollTimer = setInterval(refresh, 15000); } }

  if (!("EventSource" in window)) { poll(); return; }
  var failures = 0, opened = false;
  source = new EventSource("/c/s/events");
  source.onmessage = refresh;
  source.onopen = function () {
    if (opened) { refresh(); }
    opened = true; failures = 0;
    document.body.setAttribute("data-live", "connected");
  };
  source.onerror = function () {
    failures += 1;
    document.body.setAttribute("data-live", "retrying");
    if (failures >= 3) { source.close(); poll(); document.body.setAttribute("data-live", "polling"); }
  };
})();
