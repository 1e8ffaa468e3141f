"""Real processes for tests, waited on by their readiness signals, never by the clock.

A start on a loaded machine can take a minute (importing the app alone took 15 s at load 15 on two
cores), so every wait here has a generous ceiling (:data:`READY_SECONDS`) that only bounds a hung
start; a healthy one returns as soon as its signal appears.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

READY_SECONDS = float(os.environ.get("BAYLINE_TEST_READY_SECONDS", "300"))
POLL = 0.1


def wait_until(check: Callable[[], Any], what: str, seconds: float = READY_SECONDS,
               alive: Callable[[], str | None] | None = None) -> Any:
    """Poll ``check()`` until it returns something truthy (returned); ``alive()`` returning a message
    (the process died) fails at once. Raises AssertionError naming ``what`` past ``seconds``."""
    ends = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        problem = alive() if alive is not None else None
        if problem:
            raise AssertionError(f"{what}: {problem}")
        if time.monotonic() > ends:
            raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")
        time.sleep(POLL)


def stop_process(proc: subprocess.Popen[Any], seconds: float = READY_SECONDS) -> None:
    """End a test's server process: SIGTERM, wait up to ``seconds`` for it to exit, then SIGKILL."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=60)


class CeleryWorker:
    """``celery -A <app> worker`` in a subprocess writing to ``log``; :meth:`wait_ready` returns once
    the worker has logged that it is ready (Celery's ``worker_ready``: consuming from its queues)."""

    def __init__(self, app: str, env: dict[str, str], log: Path, args: Sequence[str] = (),
                 cwd: Path | None = None, name: str = "worker") -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", app, "worker", "--pool=solo", "--concurrency=1",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}@%h",
             "--loglevel=INFO", *args], cwd=cwd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def _dead(self) -> str | None:
        if self.proc.poll() is None:
            return None
        return f"the worker exited with {self.proc.returncode}:\n{self.output()[-3000:]}"

    def wait_ready(self, seconds: float = READY_SECONDS) -> None:
        try:
            wait_until(lambda: " ready." in self.output(), "the Celery worker to be ready", seconds, self._dead)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.output()[-3000:]}") from None

    def stop(self) -> None:
        stop_process(self.proc)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=60)
