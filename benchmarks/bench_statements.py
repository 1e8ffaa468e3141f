"""Statements per page: the rendered portal page, the staff claim page and the board (issue 18).

Runs tests/portal/test_statement_budget.py (a claim with messages both ways, a photo, an upload, an
e-sign package and an estimate; every statement the engine sends is counted, none excluded) on
SQLite and, when BAYLINE_TEST_POSTGRES_URL is set, PostgreSQL, and reports the counts. The test
fails above its regression ceiling; the goal column is the issue's acceptance limit.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .harness import Result, tempdir

ROOT = Path(__file__).resolve().parents[1]
TEST = "tests/portal/test_statement_budget.py"
GOALS = {"portal": 4, "claim_page": 8, "board": 8}
LABELS = {"portal": "rendered portal page (GET /c/s/, Cache-Control: no-cache)", "claim_page": "staff claim page",
          "board": "board"}


def run() -> list[Result]:
    out = tempdir() / "statements.jsonl"
    env = {**os.environ, "BENCH_STATEMENTS_OUT": str(out)}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TEST], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    counts: dict[str, dict[str, int]] = {}
    for line in out.read_text().splitlines() if out.exists() else []:
        row = json.loads(line)
        counts.setdefault(row["page"], {})[row["backend"]] = row["statements"]
    results = []
    for page, goal in GOALS.items():
        found = counts.get(page, {})
        if not found:
            results.append(Result(f"Statements per page: {LABELS[page]}", f"not measured (pytest rc {proc.returncode})",
                                  None, f"<= {goal}", False))
            continue
        figure = ", ".join(f"{n} on {backend}" for backend, n in sorted(found.items()))
        worst = max(found.values())
        results.append(Result(f"Statements per page: {LABELS[page]} (a regression table: the count may only go "
                              "down)", figure, None, f"<= {goal} (issue 18)", worst <= goal))
    return results
