"""A real S3-compatible server for the storage tests: moto's standalone server on a random local port."""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """``http://127.0.0.1:<port>`` of a moto server running in this process for the whole session."""
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_url(s3_endpoint: str) -> str:
    """A storage URL naming a fresh bucket on the moto server (created on first use)."""
    bucket = f"bayline-{os.urandom(4).hex()}"
    return f"s3://testkey:testsecret@{bucket}/files?endpoint={s3_endpoint}&region=us-east-1&create_bucket=1"
