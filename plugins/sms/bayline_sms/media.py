"""Inbound MMS media: fetched promptly (Telnyx media URLs are temporary) and put through the core
photos/attachments pipeline.

Only this module fetches URLs, and only those of a verified Telnyx webhook: scheme limited
(``BAYLINE_PLUGIN_SMS_MEDIA_SCHEMES``, comma-separated, https by default), a size cap (the shop's
upload limit), a timeout and a bounded number of redirects. Images become claim photos
(``sms.mms_photo_visibility``: internal by default, or customer-visible), PDFs become
attachments; both go through the core's content checks (magic bytes, pixel limit, PDF parse).
Without a claim the bytes wait in storage with the inbox item and move onto the claim when
staff file it.

``media_files`` on the inbound row records what became of each item: ``pending``, ``held`` (stored,
waiting for a claim), ``stored`` (photo_id / attachment_id), ``failed`` (will be retried, ``error``
says why) or ``refused`` (the content was not acceptable; not retried).
"""
from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.orm.attributes import flag_modified

from bayline.plugin_api import (
    Attachment,
    Claim,
    Photo,
    Rejected,
    commit,
    files,
    get_session,
    plugin_config,
    shop_settings,
    storage,
)

from .models import SmsInbound

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
TIMEOUT = httpx.Timeout(15.0, connect=5.0)
MAX_REDIRECTS = 3


class FetchFailed(Exception):
    """The media could not be fetched now (network, HTTP error, expired link); worth retrying."""


class TooLarge(Exception):
    """Larger than the cap: not retried."""


def backoff(attempt: int) -> int:
    """Seconds before retry ``attempt`` (1, 2, ...): 30 s doubling, at most an hour."""
    return min(3600, 30 * 2 ** max(attempt - 1, 0))


def max_bytes(shop_id: int) -> int:
    return files.max_file_bytes(shop_id)


def fetch(url: str, limit: int) -> tuple[bytes, str]:
    """GET ``url`` with a timeout and a size cap; (bytes, content type)."""
    schemes = tuple(plugin_config("sms").get_list("media_schemes", ["https"]))
    if urlsplit(url).scheme not in schemes or not urlsplit(url).hostname:
        raise TooLarge(f"not fetched: only {', '.join(schemes)} media URLs are accepted")
    try:
        with httpx.Client(timeout=TIMEOUT, follow_redirects=True, max_redirects=MAX_REDIRECTS) as client:
            with client.stream("GET", url, headers={"User-Agent": "bayline-sms"}) as response:
                if response.status_code >= 400:
                    raise FetchFailed(f"HTTP {response.status_code} from the media URL (expired or removed?)")
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > limit:
                    raise TooLarge(f"larger than {limit // (1024 * 1024)} MB")
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(f"larger than {limit // (1024 * 1024)} MB")
                    chunks.append(chunk)
                return b"".join(chunks), response.headers.get("Content-Type", "").split(";")[0].strip()
    except httpx.HTTPError as exc:
        raise FetchFailed(f"{type(exc).__name__}: {exc}"[:300]) from exc


def initial_items(media: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"url": str(m.get("url") or ""), "content_type": str(m.get("content_type") or ""), "status": "pending"}
            for m in media if m.get("url")]


def _filename(inbound: SmsInbound, n: int, url: str, data: bytes) -> str:
    ext = "pdf" if data[:5] == b"%PDF-" else "jpg"
    tail = urlsplit(url).path.rsplit("/", 1)[-1][:60]
    return tail if "." in tail else f"mms-{inbound.id}-{n}.{ext}"


def _onto_claim(inbound: SmsInbound, item: dict[str, Any], data: bytes, name: str, claim: Claim) -> None:
    """Run the core pipeline for one file; updates ``item`` (stored or refused). Commits."""
    session = get_session()
    incoming = [files.Incoming(name, data)]
    try:
        if data[:5] == b"%PDF-":
            rows, batch = files.add_attachments(claim, incoming, source="customer",
                                                 note=f"Picture message from {inbound.from_number}")
            made: list[Photo] = []
            item["attachment_id"] = rows[0].id
        else:
            visibility = shop_settings("sms", claim.tenant_id).get("mms_photo_visibility") or "internal"
            made, batch = files.add_photos(claim, incoming, tag="before", visibility=visibility,
                                            caption=f"Sent by text from {inbound.from_number}")
            made[0].source = "customer"
            item["photo_id"] = made[0].id
    except Rejected as exc:
        session.rollback()
        item.update(status="refused", error=exc.message)
        return
    item.update(status="stored", error=None, claim_id=claim.id)
    _save(inbound)
    try:
        commit(session)
    except BaseException:
        batch.discard()
        raise
    if made:
        files.process(made)


def _save(inbound: SmsInbound) -> None:
    flag_modified(inbound, "media_files")


def download(inbound: SmsInbound) -> bool:
    """Fetch every pending or failed item; True when something is left to retry. Commits per item."""
    session = get_session()
    claim = session.get(Claim, inbound.claim_id) if inbound.claim_id else None
    limit = max_bytes(inbound.tenant_id)
    items = [dict(i) for i in inbound.media_files or []]
    retry = False
    for n, item in enumerate(items, 1):
        if item.get("status") not in ("pending", "failed"):
            continue
        try:
            data, _ = fetch(item["url"], limit)
        except TooLarge as exc:
            item.update(status="refused", error=str(exc))
        except FetchFailed as exc:
            item.update(status="failed", error=str(exc))
            retry = True
            log.warning("sms %s: media %s not fetched: %s", inbound.telnyx_id, n, exc)
        else:
            name = _filename(inbound, n, item["url"], data)
            item["filename"] = name
            if claim is not None:
                inbound.media_files = items
                _onto_claim(inbound, item, data, name, claim)
                inbound = session.get(SmsInbound, inbound.id)  # after a rollback, reload
            else:
                key = f"{storage.new_key(inbound.tenant_id, 'sms')}/original"
                storage.get_storage().put(key, data, "application/octet-stream")
                item.update(status="held", key=key, error=None)
        inbound.media_files = items
        _save(inbound)
        commit(session)
    return retry


def file_held(inbound: SmsInbound, claim: Claim) -> None:
    """Staff filed ``inbound`` on ``claim``: held files go through the pipeline onto it, files
    already stored on a (wrongly guessed) claim move over. Commits."""
    session = get_session()
    items = [dict(i) for i in inbound.media_files or []]
    for item in items:
        if item.get("status") == "held":
            store = storage.get_storage()
            data = store.get(item["key"])
            inbound.media_files = items
            _onto_claim(inbound, item, data, item.get("filename") or "mms.jpg", claim)
            inbound = session.get(SmsInbound, inbound.id)
            if item["status"] == "stored":
                store.delete(item.pop("key"))
        elif item.get("status") == "stored" and item.get("claim_id") != claim.id:
            row: Photo | Attachment | None = (session.get(Photo, item["photo_id"]) if item.get("photo_id")
                                              else session.get(Attachment, item.get("attachment_id") or 0))
            if row is not None:
                old = row.claim_id
                row.claim_id = claim.id
                kind = {"photo": row} if isinstance(row, Photo) else {"attachment": row}
                files.audit(claim.id, "refile", **kind, actor="staff", detail=f"from claim {old} (SMS re-filed)")
            item["claim_id"] = claim.id
        inbound.media_files = items
        _save(inbound)
        commit(session)
