"""One behaviour suite, run against the local filesystem backend and a real S3 server (moto)."""
from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bayline.storage import FileMissing, LocalStorage, S3Storage, check_key, from_url, new_key


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return from_url(None, tmp_path)
    return from_url(request.getfixturevalue("s3_url"), tmp_path)


def test_round_trip_exists_list_and_delete(storage):
    key = new_key(7, "photos")
    storage.put(f"{key}/original", b"\xff\xd8bytes", "image/jpeg")
    storage.put(f"{key}/thumb.webp", b"RIFFthumb", "image/webp")
    other = new_key(8, "photos")
    storage.put(f"{other}/original", b"theirs", "image/png")
    assert storage.get(f"{key}/original") == b"\xff\xd8bytes"
    assert storage.exists(f"{key}/thumb.webp") and not storage.exists(f"{key}/display.jpg")
    assert sorted(storage.keys("t7/")) == [f"{key}/original", f"{key}/thumb.webp"]
    assert len(list(storage.keys())) == 3
    storage.put(f"{key}/original", b"replaced", "image/jpeg")
    assert storage.get(f"{key}/original") == b"replaced"
    storage.delete(f"{key}/original")
    storage.delete(f"{key}/original")  # deleting twice is fine
    assert not storage.exists(f"{key}/original")
    with pytest.raises(FileMissing):
        storage.get(f"{key}/original")
    assert list(storage.keys("t7/")) == [f"{key}/thumb.webp"]


def test_large_binary_payload(storage):
    payload = bytes(range(256)) * 40_000  # ~10 MB
    key = new_key(1, "files") + "/original"
    storage.put(key, payload, "application/pdf")
    assert storage.get(key) == payload


@pytest.mark.parametrize("bad", ["../etc/passwd", "/abs", "t1/../../x", "", "t1//x", "t1/x\0", "a b", "t1/.."])
def test_keys_from_outside_are_refused(storage, bad):
    with pytest.raises(ValueError):
        storage.put(bad, b"x", "text/plain")
    with pytest.raises(ValueError):
        storage.get(bad)


def test_keys_are_unguessable():
    keys = {new_key(1, "photos") for _ in range(1000)}
    assert len(keys) == 1000
    sample = next(iter(keys))
    assert sample.startswith("t1/photos/") and len(sample.rsplit("/", 1)[1]) == 32
    assert check_key(sample) == sample


def test_local_files_live_under_the_instance_dir_and_have_no_url(tmp_path):
    storage = from_url(None, tmp_path)
    assert isinstance(storage, LocalStorage) and storage.root == (tmp_path / "files").resolve()
    storage.put("t1/photos/abc/original", b"x", "image/jpeg")
    assert (tmp_path / "files" / "t1" / "photos" / "abc" / "original").read_bytes() == b"x"
    assert storage.url("t1/photos/abc/original", content_type="image/jpeg") is None
    storage.delete("t1/photos/abc/original")
    assert not (tmp_path / "files" / "t1").exists()  # empty directories are pruned
    assert from_url(f"file://{tmp_path / 'elsewhere'}", tmp_path).root == (tmp_path / "elsewhere").resolve()


def test_s3_presigned_url_works_briefly(s3_url, tmp_path):
    storage = from_url(s3_url, tmp_path)
    assert isinstance(storage, S3Storage) and storage.prefix == "files/"
    key = new_key(3, "photos") + "/display.jpg"
    storage.put(key, b"\xff\xd8jpeg-bytes", "image/jpeg")
    url = storage.url(key, content_type="image/jpeg", filename="front bumper.jpg", download=True, expires=2)
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=2" in url
    with urllib.request.urlopen(url) as response:
        assert response.read() == b"\xff\xd8jpeg-bytes"
        assert response.headers["Content-Type"] == "image/jpeg"
        assert response.headers["Content-Disposition"].startswith('attachment; filename="front_bumper.jpg"')
    # the bare object URL (no signature) is refused, and the signed one stops working
    bare = url.split("?", 1)[0]
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(bare)
    tampered = url.replace("display.jpg", "original")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(tampered)
    assert err.value.code == 403
    # expiry is the server's to enforce (moto checks signatures, not expiry); the URL asks for
    # exactly the lifetime given, and a minute by default
    assert "X-Amz-Expires=60" in storage.url(key, content_type="image/jpeg")


def test_bad_storage_urls(tmp_path):
    with pytest.raises(ValueError):
        from_url("ftp://host/x", tmp_path)
    with pytest.raises(ValueError):
        from_url("s3:///nobucket", tmp_path)
    assert isinstance(from_url("", tmp_path), LocalStorage)
    assert Path(tmp_path / "files").is_dir()
