"""L10: about 150 concurrent SSE streams per IP and session were possible (each holds a worker
thread). Streams are capped per session and per client IP; a closed stream frees its place."""
from __future__ import annotations

import pytest

from bayline.testing.sse import read_until


@pytest.fixture
def app_config():
    return {"BAYLINE_SSE_HEARTBEAT": 0.2, "BAYLINE_SSE_MAX_SECONDS": 30, "BAYLINE_SSE_MAX_PER_SESSION": 2,
            "BAYLINE_SSE_MAX_PER_IP": 3}


def test_streams_per_session_and_per_ip_are_capped(app, make_shop, make_claim, portal_client):
    shop = make_shop()
    customer = portal_client(make_claim(shop))
    first, second = (customer.get("/c/s/events", buffered=False) for _ in range(2))
    for stream in (first, second):
        assert stream.status_code == 200
        read_until(stream, ": connected")
    third = customer.get("/c/s/events", buffered=False)
    assert third.status_code == 429 and third.headers["Retry-After"]
    third.close()
    other_session = portal_client(make_claim(shop))
    fourth = other_session.get("/c/s/events", buffered=False)
    assert fourth.status_code == 200  # another session from the same IP: 3 of 3
    read_until(fourth, ": connected")
    assert other_session.get("/c/s/events", buffered=False).status_code == 429  # the IP is full
    first.close()
    again = customer.get("/c/s/events", buffered=False)
    assert again.status_code == 200
    for stream in (second, fourth, again):
        stream.close()
