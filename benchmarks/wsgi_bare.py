"""The baseline: a bare Flask app serving a fixed page (``BENCH_BARE_PAGE``, the bytes of a real portal
page) with the portal's headers, run on the same gunicorn configuration as the real app."""
import os
from pathlib import Path

from flask import Flask, Response

PAGE = Path(os.environ["BENCH_BARE_PAGE"]).read_bytes()
app = Flask(__name__)


@app.get("/")
def page() -> Response:
    return Response(PAGE, mimetype="text/html", headers={"Cache-Control": "no-store",
                                                         "Referrer-Policy": "no-referrer"})
