"""Logo and favicon uploads: through the core files pipeline (magic bytes, Pillow's decompression-bomb
guard, re-encoded PNG without metadata); an SVG is checked, then rasterised with CairoSVG and never
served as SVG.

SVG checks, before any drawing (defusedxml: no entities, no external DTD): the root is ``<svg>``;
no ``<script>``, ``<foreignObject>``, ``<iframe>``, ``<embed>``, ``<object>``, no ``on*`` event
attribute, no ``javascript:`` anywhere, and no reference to anything outside the file (``href`` only
``#fragment`` or an embedded ``data:image/png|jpeg``); CairoSVG is given a fetcher that refuses every
URL. The drawing is ``LOGO_SIDE`` pixels wide whatever size the file claims, then goes through the same
pipeline as any image.
"""
from __future__ import annotations

import re

from bayline.plugin_api import Rejected, files, storage

LOGO_SIDE = 512
FAVICON_SIDE = 64
MAX_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 25_000_000
FORBIDDEN_ELEMENTS = frozenset({"script", "foreignobject", "iframe", "embed", "object", "handler", "listener"})
_LOCAL_HREF = re.compile(r"^(#[\w.\-]+|data:image/(png|jpeg);base64,[A-Za-z0-9+/=\s]+)$")


def _is_svg(data: bytes) -> bool:
    head = data[:1024].lstrip().lower()
    return head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:4096].lower()) \
        or (head.startswith(b"<!--") and b"<svg" in data[:4096].lower())


def _number(text: str | None) -> float | None:
    match = re.match(r"\s*([0-9]*\.?[0-9]+)", text or "")
    return float(match.group(1)) if match else None


def check_svg(data: bytes, filename: str | None = None) -> tuple[float, float]:
    """Refuse (:class:`Rejected`) an SVG that could run, fetch or include anything; returns the
    drawing's aspect (width, height) from its ``viewBox`` or size (1:1 when it says neither)."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    def refuse(why: str) -> Rejected:
        return Rejected("branding_unsafe_svg", f"This SVG cannot be used as a logo: {why}.", filename=filename)

    if b"javascript:" in data.lower():
        raise refuse("it contains a javascript: link")
    try:
        root = ElementTree.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise refuse("it declares entities or a DTD") from exc
    except Exception as exc:  # defusedxml raises ElementTree.ParseError and friends
        raise Rejected("unreadable_image", "This SVG could not be read; it may be damaged.", filename=filename) from exc
    if root.tag.rsplit("}", 1)[-1].lower() != "svg":
        raise Rejected("unreadable_image", "This file is not an SVG image.", filename=filename)
    for element in root.iter():
        tag = str(element.tag).rsplit("}", 1)[-1].lower()
        if tag in FORBIDDEN_ELEMENTS:
            raise refuse(f"it contains a <{tag}> element")
        for name, value in element.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            if local.startswith("on"):
                raise refuse(f"it has an event attribute ({local})")
            if local == "href" and not _LOCAL_HREF.match(value.strip()):
                raise refuse("it links to something outside the file")
            if "url(" in value.lower() and not re.fullmatch(r"\s*url\(\s*#[\w.\-]+\s*\)\s*", value):
                raise refuse("it refers to something outside the file")
        if tag == "style" and element.text and ("url(" in element.text.lower() or "@import" in element.text.lower()):
            raise refuse("its style sheet fetches something")
    box = (root.attrib.get("viewBox") or "").replace(",", " ").split()
    width, height = (_number(box[2]), _number(box[3])) if len(box) == 4 else \
        (_number(root.attrib.get("width")), _number(root.attrib.get("height")))
    if not width or not height:
        return 1.0, 1.0
    if not 0.1 <= width / height <= 10:
        raise Rejected("branding_logo_shape", "This logo is too long and thin (keep it within 10:1).",
                       filename=filename)
    return width, height


def rasterise(data: bytes, filename: str | None = None) -> bytes:
    """The SVG drawn as a PNG ``LOGO_SIDE`` pixels wide (after :func:`check_svg`)."""
    import cairosvg.surface

    def no_fetch(url: str, resource_type: str | None = None) -> bytes:
        raise ValueError("external resources are not fetched")

    width, height = check_svg(data, filename)
    scale = LOGO_SIDE / max(width, height)  # the output size is ours, never the file's claim
    try:
        return cairosvg.surface.PNGSurface.convert(bytestring=data, output_width=max(1, round(width * scale)),
                                output_height=max(1, round(height * scale)), url_fetcher=no_fetch, unsafe=False)
    except Exception as exc:  # cairosvg raises many kinds for broken drawings
        raise Rejected("unreadable_image", "This SVG could not be drawn; it may be damaged.",
                       filename=filename) from exc


def prepare(data: bytes, side: int, filename: str | None = None) -> files.ImageAsset:
    """Checked PNG bytes of an uploaded logo or favicon (SVG, PNG, JPEG, WebP or HEIC)."""
    if not data:
        raise Rejected("empty_file", "The file is empty.", filename=filename)
    if len(data) > MAX_BYTES:
        raise Rejected("file_too_large", f"The logo is larger than {MAX_BYTES // (1024 * 1024)} MB.", 413,
                       filename=filename)
    if _is_svg(data):
        data = rasterise(data, filename)
    return files.image_png(data, side, MAX_PIXELS, filename=filename)


def store(shop_id: int, asset: files.ImageAsset, kind: str) -> tuple[str, str]:
    """Put the PNG in storage; returns (key, version) (the version names the bytes, for caching)."""
    import hashlib

    key = storage.new_key(shop_id, "branding") + f"/{kind}.png"
    storage.get_storage().put(key, asset.png, "image/png")
    return key, hashlib.sha256(asset.png).hexdigest()[:16]
