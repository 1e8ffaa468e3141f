"""WSGI entry for the load benchmarks and the soak: the real app from ``BAYLINE_*`` settings.

Rate limits are off (every simulated customer comes from 127.0.0.1, so per-IP limits would answer
429); SSE heartbeat and stream length come from ``BENCH_SSE_HEARTBEAT`` / ``BENCH_SSE_MAX_SECONDS``.
"""
import os

from bayline import create_app

app = create_app({"RATELIMIT_ENABLED": False,
                  "BAYLINE_SSE_HEARTBEAT": float(os.environ.get("BENCH_SSE_HEARTBEAT", "15")),
                  "BAYLINE_SSE_MAX_SECONDS": float(os.environ.get("BENCH_SSE_MAX_SECONDS", "300"))})

if os.environ.get("BENCH_TRACEMALLOC"):  # the soak's memory probe (benchmarks/soak.py, SOAK_TRACEMALLOC=1)
    import json
    import tracemalloc

    tracemalloc.start(int(os.environ.get("BENCH_TRACEMALLOC_FRAMES", "1")))
    _first: list[tracemalloc.Snapshot] = []
    _inner = app.wsgi_app

    def _tracemalloc_probe(environ, start_response):  # type: ignore[no-untyped-def]
        """``GET /_bench/tracemalloc``: this worker's traced memory and what grew most since its first
        probe (by source line), as JSON. Answered before Flask (no session, no tenant)."""
        if environ.get("PATH_INFO") != "/_bench/tracemalloc":
            return _inner(environ, start_response)
        snap = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
        if not _first:
            _first.append(snap)
        top = snap.compare_to(_first[0], "lineno")[:12]
        body = json.dumps({"pid": os.getpid(), "traced": tracemalloc.get_traced_memory()[0],
                           "growth": [{"where": str(s.traceback[0]), "kb": s.size_diff / 1024, "count": s.count_diff}
                                      for s in top if s.size_diff > 0]}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    app.wsgi_app = _tracemalloc_probe  # type: ignore[method-assign]
