"""Turn an uploaded original into what customers see: orientation applied, metadata gone,
re-encoded as a display JPEG and a WebP thumbnail."""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from .checks import Rejected, open_image

DISPLAY_MAX = 2048
THUMB_MAX = 480
DISPLAY_TYPE = "image/jpeg"
THUMB_TYPE = "image/webp"


@dataclass(frozen=True)
class Rendition:
    display: bytes
    thumb: bytes
    width: int
    height: int


def _flatten(image: Image.Image) -> Image.Image:
    """RGB with no alpha (transparent areas on white) and no carried-over metadata."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    elif image.mode != "RGB":
        image = image.convert("RGB")
    clean = Image.new("RGB", image.size)
    clean.paste(image)
    return clean  # a fresh image: no EXIF, GPS, XMP, ICC or comments travel with it


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def render(data: bytes, max_pixels: int) -> Rendition:
    """Decode under ``max_pixels`` (bombs raise :class:`Rejected`), apply the EXIF orientation,
    drop every metadata block and encode the display and thumbnail sizes."""
    image = open_image(data, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
            oriented = ImageOps.exif_transpose(image) or image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Rejected("image_too_large", "This image has too many pixels.") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise Rejected("unreadable_image", "This image is incomplete or damaged.") from exc
    width, height = oriented.size
    display = oriented.copy()
    display.thumbnail((DISPLAY_MAX, DISPLAY_MAX), Image.Resampling.LANCZOS)
    display = _flatten(display)
    thumb = display.copy()
    thumb.thumbnail((THUMB_MAX, THUMB_MAX), Image.Resampling.LANCZOS)
    image.close()
    return Rendition(
        display=_encode(display, "JPEG", quality=85, optimize=True, progressive=True, exif=b""),
        thumb=_encode(thumb, "WEBP", quality=80, method=4, exif=b""),
        width=width, height=height)
