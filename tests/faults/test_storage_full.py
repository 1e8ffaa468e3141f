"""Storage error on upload: disk full (a real 64 kB tmpfs) or a read-only file system (a real
read-only bind mount) → a clear 507 in the standard error shape, nothing half-written: no photo or
audit row, no file (nor temp file) left in storage.

Both mounts need CAP_SYS_ADMIN (root in this container); the test is skipped, with the reason,
where ``mount`` is not permitted.
"""
from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from bayline.testing.plugin import in_tenant


def _mount(args: list[str], target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a test file system here ({' '.join(args)}): {done.stderr.strip()}")


@pytest.fixture(params=["disk-full", "read-only"])
def storage_root(request: pytest.FixtureRequest, tmp_path: Path):
    root = tmp_path / "files"
    if request.param == "disk-full":
        _mount(["-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs"], root)
    else:
        root.mkdir()
        _mount(["--bind", "-o", "ro", str(root)], root)
    yield root
    subprocess.run(["umount", "-l", str(root)], check=False, timeout=30)


@pytest.fixture
def app_config(storage_root: Path):
    return {"storage_url": f"file://{storage_root}", "PROPAGATE_EXCEPTIONS": False}


def photo_bytes() -> bytes:
    """A noisy 600x600 JPEG (~300 kB; more than the 64 kB file system holds)."""
    image = Image.effect_noise((600, 600), 90).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    assert len(out.getvalue()) > 128 * 1024
    return out.getvalue()


def files_in(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def counts(app, shop_id: int) -> tuple[int, int, int]:
    from bayline.photos.models import Attachment, FileAudit, Photo

    with in_tenant(app, shop_id) as session:
        return tuple(session.scalar(select(func.count(m.id))) for m in (Photo, Attachment, FileAudit))


def test_staff_upload_on_a_full_or_read_only_disk(app, storage_root, make_shop, make_claim, api_client):
    shop = make_shop()
    claim = make_claim(shop)
    api = api_client(shop)
    before = files_in(storage_root)
    r = api.post(f"/api/v1/claims/{claim.id}/photos", content_type="multipart/form-data",
                 data={"files": [(io.BytesIO(photo_bytes()), "front.jpg")], "tag": "before"})
    assert r.status_code == 507, r.get_data(as_text=True)[:500]
    assert r.json == {"code": "insufficient_storage", "status": 507,
                      "message": "The file could not be stored right now. Please try again later."}
    assert counts(app, shop.id) == (0, 0, 0)
    assert files_in(storage_root) == before == []
    # Small enough to fit (or still refused on the read-only mount): never a 500.
    small = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 40, 40)).save(small, "JPEG")
    small.seek(0)
    r = api.post(f"/api/v1/claims/{claim.id}/photos", content_type="multipart/form-data",
                 data={"files": [(small, "tiny.jpg")]})
    assert r.status_code in (201, 507), r.get_data(as_text=True)[:500]
    assert (r.status_code == 201) == (counts(app, shop.id)[0] == 1)
