"""Photo pipeline: processing time of one 12-megapixel phone photo, and the portal page with a
100-photo gallery against the same page with no photos."""
from __future__ import annotations

import io
import statistics
import time

from PIL import Image

from bayline.events import commit
from bayline.tenancy import set_tenant
from bayline.tenants import provisioning

from .harness import Result, compare, make_app, tempdir


def phone_jpeg(width: int, height: int) -> bytes:
    """A noisy (hard to compress, like a real photo) JPEG with EXIF orientation and GPS."""
    import os

    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x8825] = {1: "N", 2: (42.0, 21.0, 30.0), 3: "W", 4: (71.0, 3.0, 36.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def _portal(app, photos: int):
    from bayline.claims.service import create_claim
    from bayline.db import get_session
    from bayline.photos import service
    from bayline.portal import tokens

    with app.app_context():
        group = provisioning.create_group("G", "g")
        shop = provisioning.create_shop(group, "S", slug="s", plan="starter")
        set_tenant(shop.id)
        claim = create_claim({"number": "1", "customer_first_name": "A", "customer_last_name": "B"})
        commit(get_session())
        small = phone_jpeg(320, 240)
        for start in range(0, photos, 10):
            batch, _ = service.add_photos(claim, [service.Incoming(f"{i}.jpg", small)
                                                  for i in range(start, min(start + 10, photos))],
                                          tag=("before", "during", "after")[start // 10 % 3])
            commit(get_session())
            service.enqueue(batch)
        token = tokens.active_token(claim) or tokens.issue(claim).token
        entry = tokens.open_session(token, claim)
        commit(get_session())
    client = app.test_client()
    with client.session_transaction() as s:
        s["portal"] = entry
    return client


def run() -> list[Result]:
    results = []
    app = make_app(tempdir())
    from bayline.photos.processing import render

    data = phone_jpeg(4000, 3000)
    render(data, 60_000_000)
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        render(data, 60_000_000)
        samples.append(time.perf_counter() - start)
    seconds = statistics.median(samples)
    results.append(Result("Photo processing: one 12-MP JPEG (orient, strip EXIF, 2048 px JPEG + 480 px WebP)",
                          f"{seconds:.2f} s", None, "< 2 s", seconds < 2))

    empty = _portal(make_app(tempdir()), 0)
    full = _portal(app, 100)
    assert full.get("/c/s/").get_data(as_text=True).count("data-viewer") == 100
    # Rendered every time (no-cache asks past the page store): the gallery's cost is in the rendering.
    fresh = {"Cache-Control": "no-cache"}
    base, gallery = compare(lambda: empty.get("/c/s/", headers=fresh), lambda: full.get("/c/s/", headers=fresh),
                            rounds=7, calls=30)
    ratio = gallery / base
    results.append(Result("Portal page rendered with a 100-photo gallery vs no photos",
                          f"{gallery * 1000:.1f} ms vs {base * 1000:.1f} ms ({1 / gallery:.0f} pages/s)", ratio,
                          "< 2.0", ratio < 2.0))
    return results
