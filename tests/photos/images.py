"""Real files for the upload tests, made with Pillow and pypdf (no fixtures on disk)."""
from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg(width: int = 640, height: int = 480, *, gps: bool = True, orientation: int | None = None,
         color: tuple[int, int, int] = (200, 40, 40), quality: int = 90) -> bytes:
    """A JPEG with camera EXIF: make/model, GPS position (Boston) and optionally an orientation."""
    image = Image.new("RGB", (width, height), color)
    image.paste((20, 20, 220), (0, 0, width // 4, height // 8))  # a marker in the top-left corner
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0x0110] = "Bay-1"  # Model
    if orientation:
        exif[ORIENTATION] = orientation
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (42.0, 21.0, 30.0), 3: "W", 4: (71.0, 3.0, 36.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=exif.tobytes())
    return out.getvalue()


def png(width: int = 320, height: int = 240, mode: str = "RGBA") -> bytes:
    image = Image.new(mode, (width, height), (10, 120, 30, 255) if mode == "RGBA" else 128)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def heic(width: int = 400, height: int = 300) -> bytes:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (width, height), (90, 90, 200)).save(out, "HEIF", quality=80)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(side: int = 30_000) -> bytes:
    """A tiny valid-looking PNG that claims side x side pixels (900 MP by default): decoding it would
    need gigabytes. The IDAT holds only a few compressed rows."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\x00" * (side + 1) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", rows) + _chunk(b"IEND", b"")


def pdf(pages: int = 1) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=612, height=792)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


MALFORMED_PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ngarbage without xref or trailer\n"
HTML_POLYGLOT = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(1)</script></svg>')
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200
WINDOWS_EXE = (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
               + b"PE\x00\x00" + b"\x00" * 200)


def exif_of(data: bytes) -> dict:
    image = Image.open(io.BytesIO(data))
    exif = image.getexif()
    return {"exif": dict(exif), "gps": dict(exif.get_ifd(GPS_IFD)), "info_keys": set(image.info)}
