"""Photos and uploads as an always-active core plugin: storage set-up, routes, permissions, settings,
the staff claim panel and the portal cards (shown when the shop's plan has ``photos`` / ``uploads``)."""
from __future__ import annotations

from typing import Any, Literal, TypedDict

from flask import Blueprint, Flask, g, render_template, request, session

from bayline.auth.roles import ROLES
from bayline.claims.models import Claim
from bayline.photos import checks, service, tasks  # noqa: F401  (tasks: registers the Celery tasks)
from bayline.plugins.markers import hookimpl
from bayline.plugins.types import (
    ClaimPanel,
    EventType,
    Feature,
    Permission,
    PortalSection,
    SettingDef,
    ShopArchiveRules,
    Viewer,
)

_STAFF_MANAGERS = ("owner", "admin", "advisor", "estimator", "production_manager")


@hookimpl
def register_features() -> list[Feature]:
    return [Feature("photos", "Bay photos", "Technician photos on the claim and the portal gallery"),
            Feature("uploads", "Customer uploads", "Customers send damage photos and documents from the portal")]


@hookimpl
def register_permissions() -> list[Permission]:
    return [Permission("photos.upload", tuple(ROLES), ("write",), "Add photos and files to a claim"),
            Permission("photos.manage", _STAFF_MANAGERS, ("write",), "Tag, show, hide and delete photos and files")]


class PhotoPublished(TypedDict):
    claim_id: int
    photo_id: int
    tag: str
    """``before``, ``during``, ``after`` or one of the shop's extra tags."""


class UploadReceived(TypedDict):
    claim_id: int
    attachment_id: int
    source: Literal["customer"]
    content_type: str
    size: int
    """Bytes."""


@hookimpl
def register_event_types() -> list[EventType]:
    return [
        EventType("photo.published", PhotoPublished,
                  "A photo became visible to the customer for the first time (hiding and showing it again "
                  "does not fire it twice).", portal_live=True, staff_live=True),
        EventType("upload.received", UploadReceived, "A customer sent a photo or document from the portal "
                  "(one event per file).", staff_live=True),
    ]


def _positive(value: int) -> int:
    if value < 1:
        raise ValueError("must be at least 1")
    return value


PHOTOS = "Photos and uploads"


@hookimpl
def register_tenant_settings() -> list[SettingDef]:
    return [
        SettingDef("photos.extra_tags", "Photo tags besides before / during / after (comma-separated)", "str", "",
                   group=PHOTOS, help="e.g. teardown, supplement: technicians pick them when adding photos."),
        SettingDef("photos.max_megapixels", "Largest photo accepted, in megapixels", "int", 60, validate=_positive,
                   group=PHOTOS),
        SettingDef("uploads.max_file_mb", "Largest file accepted, in MB (capped by the server limit)", "int", 20,
                   validate=_positive, group=PHOTOS),
        SettingDef("uploads.max_files_per_request", "Files accepted in one upload", "int", 10, validate=_positive,
                   group=PHOTOS),
        SettingDef("uploads.claim_quota", "Customer uploads allowed per claim (0 = no limit)", "int", 50, group=PHOTOS),
    ]


@hookimpl
def register_blueprints(app: Flask) -> list[Blueprint]:
    from bayline.photos.public import public
    from bayline.photos.views import assets, console, portal

    return [assets, console, portal, public]


@hookimpl
def app_configured(app: Flask) -> None:
    from bayline.storage import init_storage

    init_storage(app)
    checks.register_heif()


@hookimpl
def prefetch(claim: Claim, view: str, bundle: Any) -> None:
    features = g.get("features", frozenset())
    if view == "portal":
        if "photos" in features:
            bundle.want(service.CUSTOMER_PHOTOS, service.customer_photos_part(claim))
        if "uploads" in features:
            bundle.want(service.ATTACHMENTS, service.attachments_part(claim))
    else:
        if "photos" in features:
            bundle.want(service.PHOTOS, service.photos_stmt(claim))
        bundle.want(service.ATTACHMENTS, service.attachments_part(claim))


@hookimpl
def claim_panels(claim: Claim, user: Any) -> list[ClaimPanel]:
    panels = []
    features = g.get("features", frozenset())
    if "photos" in features:
        photos = service.photos_of(claim)
        html = render_template("photos/_staff_panel.html", claim=claim, photos=photos,
                               tags=service.shop_tags(claim.tenant_id), principal=g.principal,
                               error=request.args.get("photo_error"))
        panels.append(ClaimPanel(key="photos", title=f"Photos ({len(photos)})", html=html, order=20))
    uploads = service.attachments_of(claim)
    if uploads or "uploads" in features:
        html = render_template("photos/_staff_uploads.html", claim=claim, attachments=uploads, principal=g.principal)
        panels.append(ClaimPanel(key="attachments", title=f"Files ({len(uploads)})", html=html, order=25))
    return panels


@hookimpl
def portal_sections(claim: Claim, viewer: Viewer) -> list[PortalSection]:
    features = g.get("features", frozenset())
    sections = []
    if "photos" in features:
        tags = service.shop_tags(claim.tenant_id)
        groups = service.grouped(service.customer_photos(claim), tags)
        html = render_template("photos/_portal_gallery.html", groups=groups)
        sections.append(PortalSection(key="photos", title="Photos", html=html, order=30))
    if "uploads" in features:
        mine = [a for a in service.attachments_of(claim) if a.source == "customer"]
        html = render_template("photos/_portal_uploads.html", uploads=mine,
                               max_mb=service.max_file_bytes(claim.tenant_id) // (1024 * 1024),
                               max_files=service.max_files_per_request(claim.tenant_id),
                               notice=session.pop("photos.upload_notice", None))
        sections.append(PortalSection(key="uploads", title="Send us photos or documents", html=html, order=60))
    return sections


@hookimpl
def shop_archive_rules() -> ShopArchiveRules:
    """Photo keys are prefixes (``<key>/original``, ``display.jpg``, ``thumb.webp``); attachments one object."""
    return ShopArchiveRules(storage_keys=("photos.key", "attachments.key"))
