"""Reading a Server-Sent Events response from Flask's test client (portal and console streams)."""
from __future__ import annotations

import time
from typing import Any

from .processes import READY_SECONDS


def read_until(response: Any, needle: str, seconds: float = READY_SECONDS) -> str:
    """Read an open ``buffered=False`` event-stream response until a chunk contains ``needle``;
    returns everything read. Fails (AssertionError, with what arrived) after ``seconds``; the
    stream's heartbeats (``BAYLINE_SSE_HEARTBEAT``) keep the loop turning while nothing comes."""
    chunks: list[str] = []
    ends = time.monotonic() + seconds
    iterator = iter(response.response)
    while time.monotonic() < ends:
        chunk = next(iterator)
        chunks.append(chunk.decode() if isinstance(chunk, bytes) else chunk)
        if needle in chunks[-1]:
            return "".join(chunks)
    raise AssertionError(f"{needle!r} not received; got {chunks!r}")
