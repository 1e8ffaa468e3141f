"""Importing the app (what gunicorn, Celery and every ``flask`` command do) does not import the heavy
SDKs: they are imported where they are used (issue 18 item 4). Measured in a fresh interpreter, with
every bundled plugin installed and loaded."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("telnyx", "pyhanko", "pyhanko_certvalidator", "asn1crypto", "reportlab", "alembic", "stripe",
         "caldav", "icalendar", "holidays",
         "msgraph", "kiota_abstractions", "kiota_serialization_json")  # the email plugin's test-only models
PROBE = f"""
import json, sys
import wsgi
print(json.dumps({{"loaded": sorted({{n.split(".")[0] for n in sys.modules}} & set({HEAVY!r})),
                  "plugins": sorted(wsgi.app.extensions["bayline.plugins"].plugins)}}))
"""


def imported_by_the_app(tmp_path: Path) -> dict[str, list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAYLINE_")}
    env.update(BAYLINE_INSTANCE_DIR=str(tmp_path), PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_app_imports_no_heavy_sdk(tmp_path):
    found = imported_by_the_app(tmp_path)
    assert {"sms", "esign", "quotes", "scheduling"} <= set(found["plugins"]), found["plugins"]  # code imported
    assert found["loaded"] == [], f"imported with the app: {found['loaded']}"


def test_the_probe_sees_an_import(tmp_path):
    """The same probe reports a heavy SDK once something imports it (so an empty list means something)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAYLINE_")}
    env.update(BAYLINE_INSTANCE_DIR=str(tmp_path), PYTHONPATH=str(REPO))
    probe = PROBE.replace("import wsgi\n", "import wsgi\nimport bayline.migrate\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300, check=True)
    assert "alembic" in json.loads(out.stdout.strip().splitlines()[-1])["loaded"]
