"""WSGI entry for the load benchmarks and the soak: the real app from ``BAYLINE_*`` settings.

Rate limits are off (every simulated customer comes from 127.0.0.1, so per-IP limits would answer
429); SSE heartbeat and stream length come from ``BENCH_SSE_HEARTBEAT`` / ``BENCH_SSE_MAX_SECONDS``.
"""
import os

from bayline import create_app

app = create_app({"RATELIMIT_ENABLED": False,
                  "BAYLINE_SSE_HEARTBEAT": float(os.environ.get("BENCH_SSE_HEARTBEAT", "15")),
                  "BAYLINE_SSE_MAX_SECONDS": float(os.environ.get("BENCH_SSE_MAX_SECONDS", "300"))})
