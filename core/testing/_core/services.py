"""Print ``KEY=value`` lines for the test services that answer here (used by ``make test``).

PostgreSQL on 127.0.0.1:5432 (user postgres) and Redis on 127.0.0.1:6379 by
default; an already-set ``BAYLINE_TEST_*`` variable is kept as given.
"""
from __future__ import annotations

import os
import socket

CANDIDATES = {
    "BAYLINE_TEST_POSTGRES_URL": ("127.0.0.1", 5432, "postgresql://postgres@127.0.0.1:5432/postgres"),
    "BAYLINE_TEST_REDIS_URL": ("127.0.0.1", 6379, "redis://127.0.0.1:6379/0"),
}


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def main() -> None:
    for key, (host, port, url) in CANDIDATES.items():
        if os.environ.get(key):
            print(f"{key}={os.environ[key]}")
        elif answers(host, port):
            print(f"{key}={url}")


if __name__ == "__main__":
    main()
