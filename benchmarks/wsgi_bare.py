"""The baseline: a bare Flask app serving a fixed response (``BENCH_BARE_PAGE``, the bytes of a real
portal page, with the portal page's own response headers from ``BENCH_BARE_HEADERS``, JSON), run on
the same gunicorn configuration as the real app: the same bytes on the wire, none of the work."""
import json
import os
from pathlib import Path

from flask import Flask, Response

PAGE = Path(os.environ["BENCH_BARE_PAGE"]).read_bytes()
HEADERS = json.loads(os.environ.get("BENCH_BARE_HEADERS", "{}"))
app = Flask(__name__)


@app.get("/")
def page() -> Response:
    return Response(PAGE, mimetype="text/html", headers=HEADERS)
