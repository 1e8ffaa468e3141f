"""Shared helpers: a migrated throwaway SQLite app, timing loops, the BENCHMARKS.md writer."""
from __future__ import annotations

import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bayline import create_app
from bayline.migrate import upgrade_all


@dataclass
class Result:
    name: str
    figure: str
    ratio: float | None
    goal: str
    met: bool


def make_app(tmp: Path, plugins: list[tuple[str, object]] | None = None, **config: Any) -> Any:
    db = tmp / "bench.db"
    app = create_app({"database_url": f"sqlite:///{db}", "env": "test", "instance_dir": tmp / "instance",
                      **config}, plugins=plugins or [])
    app.config["RATELIMIT_ENABLED"] = False
    upgrade_all(app)
    return app


def per_call(fn: Callable[[], Any], rounds: int = 7, calls: int = 200) -> float:
    """Median seconds per call over ``rounds`` rounds (after a warm-up round)."""
    fn()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def tempdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="bayline-bench-"))


def machine() -> str:
    import os

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def compare(baseline: Callable[[], Any], candidate: Callable[[], Any], rounds: int = 9,
            calls: int = 100) -> tuple[float, float]:
    """Median seconds per call of each, measured in alternating rounds so machine drift hits both."""
    baseline()
    candidate()
    a, b = [], []
    for _ in range(rounds):
        for fn, bucket in ((baseline, a), (candidate, b)):
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            bucket.append((time.perf_counter() - start) / calls)
    return statistics.median(a), statistics.median(b)
