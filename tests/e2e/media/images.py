"""Test images made on the spot with Pillow (the project ships none)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def jpeg_rotated(width: int = 1200, height: int = 900) -> bytes:
    """A JPEG stored ``width``x``height``, top half red and bottom half blue, whose
    EXIF orientation (6) says "rotate 90° clockwise to display": shown upright it
    is ``height``x``width`` with red on the right."""
    image = Image.new("RGB", (width, height), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, width, height // 2))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def png(width: int = 640, height: int = 480) -> bytes:
    image = Image.new("RGBA", (width, height), (10, 200, 30, 128))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def animated(fmt: str, width: int, height: int, frames: int) -> bytes:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    images = [Image.new("RGB", (width, height), colours[i % 4]) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, fmt, save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int, *, complete: bool = False) -> bytes:
    """A small PNG of ``width``x``height`` black pixels: with ``complete``, every
    row is there (zeros compress ~1000:1, so decoding it really fills the bitmap);
    otherwise only the header claims them."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    if complete:
        packer = zlib.compressobj(9)
        row = b"\x00" * (1 + 3 * width)
        rows = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    else:
        rows = zlib.compress(b"\x00" * 4096)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", rows)
        + _chunk(b"IEND", b"")
    )


def open_image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))
