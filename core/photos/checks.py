"""What a file really is, decided from its bytes: magic-byte allow-list, Pillow decode under a pixel
limit (decompression bombs and truncated images refused), PDFs parsed with pypdf.

Every refusal is a :class:`Rejected` with an HTTP status, a stable code and a sentence for people.
Nothing here trusts the file name or the client's Content-Type.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

import filetype
from PIL import Image, ImageFile, UnidentifiedImageError

from bayline.errors import Refused

IMAGE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/heic": "heic", "image/heif": "heic",
               "image/webp": "webp"}
PDF_TYPE = "application/pdf"
PHOTO_TYPES = frozenset(IMAGE_TYPES)
UPLOAD_TYPES = frozenset({"image/jpeg", "image/png", "image/heic", "image/heif", PDF_TYPE})
PILLOW_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "HEIF": "image/heic", "WEBP": "image/webp"}
DEFAULT_MAX_PIXELS = 60_000_000
MAX_PDF_PAGES = 500

ImageFile.LOAD_TRUNCATED_IMAGES = False
_heif_registered = False


def register_heif() -> None:
    global _heif_registered
    if not _heif_registered:
        from pillow_heif import register_heif_opener

        register_heif_opener()
        _heif_registered = True


class Rejected(Refused, ValueError):
    """A file that is refused: a :class:`~bayline.errors.Refused` (422 unless said otherwise) whose
    field errors name the file (``{"files": {filename: [message]}}``)."""

    def __init__(self, code: str, message: str, status: int = 422, filename: str | None = None) -> None:
        self.filename = filename
        super().__init__(status, code, message)

    @property  # type: ignore[override]
    def errors(self) -> dict[str, Any] | None:
        return {"files": {self.filename: [self.message]}} if self.filename else None

    @errors.setter
    def errors(self, value: dict[str, Any] | None) -> None:
        pass  # derived from ``filename``


@dataclass(frozen=True)
class Checked:
    content_type: str
    extension: str
    width: int | None = None
    height: int | None = None
    pages: int | None = None


def sniff(data: bytes, allowed: frozenset[str]) -> str:
    """The content type the bytes prove, if it is on ``allowed``; otherwise :class:`Rejected`."""
    if not data:
        raise Rejected("empty_file", "The file is empty.")
    kind = filetype.guess(data[:8192])
    mime = kind.mime if kind is not None else None
    if mime == "image/heif":
        mime = "image/heic"
    if mime is None or mime not in allowed:
        names = sorted({IMAGE_TYPES.get(t, "pdf").upper() for t in allowed})
        raise Rejected("unsupported_file_type",
                       f"This file type is not accepted. Please send {', '.join(names)} files.", 415)
    return mime


def open_image(data: bytes, max_pixels: int) -> Image.Image:
    """Open (header only) with the pixel limit enforced as an error, never a warning."""
    register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(max_pixels) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise Rejected("unreadable_image", "This image could not be read; it may be damaged.") from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        raise Rejected("unreadable_image", "This image could not be read; it may be damaged.")
    if width * height > max_pixels:
        raise _too_many_pixels(max_pixels)
    return image


def _too_many_pixels(max_pixels: int) -> Rejected:
    return Rejected("image_too_large",
                    f"This image has too many pixels (the limit is {max_pixels // 1_000_000} megapixels).", 422)


def check_image(data: bytes, mime: str, max_pixels: int) -> Checked:
    """Decode the whole image (cheaply for JPEG: reduced-size draft) so truncated files are refused."""
    image = open_image(data, max_pixels)
    if PILLOW_FORMATS.get(image.format or "") != mime:
        raise Rejected("unsupported_file_type", "The file's contents do not match an accepted image type.", 415)
    width, height = image.size
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if image.format == "JPEG":
                image.draft("RGB", (max(width // 8, 1), max(height // 8, 1)))
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(max_pixels) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise Rejected("unreadable_image", "This image is incomplete or damaged; please take or send it again."
                       ) from exc
    finally:
        image.close()
    return Checked(mime, IMAGE_TYPES[mime], width, height)


def check_pdf(data: bytes) -> Checked:
    """The PDF must parse, have 1..500 pages, and open without a password."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise Rejected("pdf_encrypted", "This PDF is password-protected; please send an unlocked copy.")
        pages = len(reader.pages)
        if pages:
            reader.pages[0].mediabox  # noqa: B018  (touch the first page object)
    except Rejected:
        raise
    except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise Rejected("unreadable_pdf", "This PDF could not be read; it may be damaged.") from exc
    if pages < 1:
        raise Rejected("unreadable_pdf", "This PDF has no pages.")
    if pages > MAX_PDF_PAGES:
        raise Rejected("pdf_too_long", f"This PDF has more than {MAX_PDF_PAGES} pages.")
    return Checked(PDF_TYPE, "pdf", pages=pages)


def check(data: bytes, allowed: frozenset[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> Checked:
    mime = sniff(data, allowed)
    if mime == PDF_TYPE:
        return check_pdf(data)
    return check_image(data, mime, max_pixels)
