"""File storage: one backend per app, chosen by ``BAYLINE_STORAGE_URL``.

* unset or ``file:///abs/path`` → :class:`LocalStorage` (default: ``<instance_dir>/files``)
* ``s3://bucket/optional/prefix?endpoint=https://...&region=...`` → :class:`S3Storage` (boto3; any
  S3-compatible server). Credentials come from the URL (``s3://KEY:SECRET@bucket``) or boto3's usual
  chain (``AWS_ACCESS_KEY_ID`` ...).

Keys are made by :func:`new_key` (128 random bits), never from user input, and are never the way
files are reached: routes check who is asking, then stream the bytes (local) or redirect to a
presigned URL that lives for seconds (S3).
"""
from __future__ import annotations

import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from flask import Flask, current_app

_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+(?:/[A-Za-z0-9_.-]+)*$")
DEFAULT_URL_TTL = 60


class StorageError(RuntimeError):
    """The backend could not store or fetch a file."""


class FileMissing(StorageError):
    """No object under that key."""


def new_key(tenant_id: int, kind: str) -> str:
    """A fresh, unguessable key prefix: ``<tenant>/<kind>/<32 hex>``."""
    return f"t{int(tenant_id)}/{kind}/{secrets.token_hex(16)}"


def check_key(key: str) -> str:
    if not isinstance(key, str) or len(key) > 512 or not _KEY_RE.match(key) or ".." in key:
        raise ValueError(f"invalid storage key {key!r}")
    return key


class Storage(Protocol):
    """What every backend does. ``url`` returns a short-lived direct URL, or None when the app
    must stream the bytes itself (local files)."""

    name: str

    def put(self, key: str, data: bytes, content_type: str) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def keys(self, prefix: str = "") -> Iterator[str]: ...
    def url(self, key: str, *, content_type: str, filename: str | None = None, download: bool = False,
            expires: int = DEFAULT_URL_TTL) -> str | None: ...


class LocalStorage:
    """Files under one directory; writes are atomic (temp file + rename)."""

    name = "local"

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if self.root not in path.parents:
            raise ValueError(f"invalid storage key {key!r}")
        return path

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".up-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise FileMissing(key) from None

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        for parent in path.parents:  # drop empty directories up to the root
            if parent == self.root:
                break
            try:
                parent.rmdir()
            except OSError:
                break

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def keys(self, prefix: str = "") -> Iterator[str]:
        # walk only the deepest directory the prefix names (``t1/photos/ab12/`` → that folder)
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root / folder if folder and _KEY_RE.match(folder) and ".." not in folder else self.root
        if not start.is_dir():
            return
        for path in sorted(start.rglob("*")):
            if path.is_file() and not path.name.startswith(".up-"):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key

    def url(self, key: str, *, content_type: str, filename: str | None = None, download: bool = False,
            expires: int = DEFAULT_URL_TTL) -> str | None:
        return None


class S3Storage:
    """An S3 bucket (AWS, MinIO, Ceph, R2, moto ...) through boto3."""

    name = "s3"

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 region: str | None = None, access_key: str | None = None, secret_key: str | None = None,
                 create_bucket: bool = False) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region or "us-east-1",
            aws_access_key_id=access_key, aws_secret_access_key=secret_key,
            config=Config(signature_version="s3v4", retries={"max_attempts": 3, "mode": "standard"},
                          s3={"addressing_style": "path" if endpoint_url else "auto"}))
        if create_bucket:
            self.ensure_bucket()

    def ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"could not store {key}: {exc}") from exc

    def get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileMissing(key) from None
            raise StorageError(f"could not fetch {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not fetch {key}: {exc}") from exc

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError:
            return False

    def keys(self, prefix: str = "") -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for obj in page.get("Contents", []):
                yield obj["Key"][len(self.prefix):]

    def url(self, key: str, *, content_type: str, filename: str | None = None, download: bool = False,
            expires: int = DEFAULT_URL_TTL) -> str | None:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(key), "ResponseContentType": content_type,
                                  "ResponseCacheControl": "private, max-age=60"}
        if download or filename:
            params["ResponseContentDisposition"] = content_disposition(filename or "file", download)
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=int(expires))


def content_disposition(filename: str, download: bool) -> str:
    from urllib.parse import quote

    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", filename)[:100] or "file"
    kind = "attachment" if download else "inline"
    return f"{kind}; filename=\"{safe}\"; filename*=UTF-8''{quote(filename[:200])}"


def from_url(url: str | None, instance_dir: Path) -> Storage:
    """Build the backend a ``BAYLINE_STORAGE_URL`` names (None/empty → local under the instance dir)."""
    if not url:
        return LocalStorage(Path(instance_dir) / "files")
    parts = urlsplit(url)
    if parts.scheme == "file":
        if not parts.path:
            raise ValueError("file:// storage URL needs an absolute path (file:///var/lib/bayline/files)")
        return LocalStorage(unquote(parts.path))
    if parts.scheme == "s3":
        if not parts.hostname:
            raise ValueError("s3:// storage URL needs a bucket name (s3://bucket?endpoint=...)")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return S3Storage(
            parts.hostname, unquote(parts.path), endpoint_url=query.get("endpoint"), region=query.get("region"),
            access_key=unquote(parts.username) if parts.username else None,
            secret_key=unquote(parts.password) if parts.password else None,
            create_bucket=query.get("create_bucket") in ("1", "true", "yes"))
    raise ValueError(f"BAYLINE_STORAGE_URL must be file:// or s3://, got {parts.scheme or url!r}")


def init_storage(app: Flask) -> Storage:
    settings = app.extensions["bayline.settings"]
    url = settings.extra.get("storage_url") or os.environ.get("BAYLINE_STORAGE_URL")
    storage = from_url(url, settings.instance_dir)
    app.extensions["bayline.storage"] = storage
    return storage


def get_storage(app: Flask | None = None) -> Storage:
    return (app or current_app).extensions["bayline.storage"]
