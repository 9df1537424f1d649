"""Thumbnails with Pillow: ``scale`` and ``crop``, static or animated, EXIF-oriented.

Pure functions of bytes, CPU-bound: callers run them in a thread.

Hostile images are the rule here, not the exception. ``Image.open`` reads only
the header, so the pixel count is checked *before* anything is decoded: an image
claiming more than ``max_pixels`` is refused (``ImageTooLarge``) without
allocating its bitmap. Pillow's own decompression-bomb guard stays on behind
that check. An animated thumbnail decodes one frame at a time and is made only
when frames × pixels stays within a small multiple of the limit; otherwise the
first frame stands for the animation.

The spec's rules: never upscale; ``scale`` keeps the aspect ratio and fits the
requested box; ``crop`` fills the requested box and cuts the overflow, centred;
content smaller than the request comes back as it is.
"""

from __future__ import annotations

import dataclasses
import io
import warnings
from collections.abc import Sequence

from PIL import Image, ImageOps, ImageSequence

#: Content types this server thumbnails (all are safe to serve inline).
THUMBNAILABLE = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
#: EXIF orientations that swap width and height.
_TRANSPOSED = frozenset({5, 6, 7, 8})
_ORIENTATION = 0x0112
#: An animation may cost at most this many times ``max_pixels`` to decode, in frames.
ANIMATION_BUDGET = 4
MAX_FRAMES = 500
JPEG_QUALITY = 80


class ImageTooLarge(Exception):
    """The image has more pixels than the server decodes (413 M_TOO_LARGE)."""


class CannotThumbnail(Exception):
    """Not an image this server can thumbnail (400)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    width: int
    height: int
    method: str
    animated: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Thumbnail:
    data: bytes
    content_type: str
    width: int
    height: int


def _open(data: bytes, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLarge("image is too large to thumbnail") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise CannotThumbnail(f"not an image: {e}") from None
    if image.format not in _FORMATS:
        raise CannotThumbnail(f"cannot thumbnail {image.format} images")
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise ImageTooLarge(f"image of {width}x{height} pixels is too large to thumbnail")
    return image


def probe(data: bytes, max_pixels: int) -> tuple[int, int, str]:
    """The image's oriented width, height and content type, from its header only."""
    image = _open(data, max_pixels)
    width, height = _oriented_size(image)
    return width, height, _FORMATS[str(image.format)]


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(_ORIENTATION, 1))
    except Exception:  # a broken EXIF block must not make the image unusable
        return 1


def _oriented_size(image: Image.Image) -> tuple[int, int]:
    width, height = image.size
    return (height, width) if _orientation(image) in _TRANSPOSED else (width, height)


def target_size(src: tuple[int, int], request: Request) -> tuple[int, int]:
    """The thumbnail's dimensions for a source of ``src`` (never larger than it)."""
    src_w, src_h = src
    want_w, want_h = request.width, request.height
    if src_w <= want_w and src_h <= want_h:
        return src_w, src_h
    if request.method == "scale":
        if want_w * src_h < want_h * src_w:  # width is the binding side
            return want_w, max(1, want_w * src_h // src_w)
        return max(1, want_h * src_w // src_h), want_h
    # crop: the requested aspect, as large as asked but no larger than the source
    if src_w >= want_w and src_h >= want_h:
        return want_w, want_h
    scale = min(src_w / want_w, src_h / want_h)
    return max(1, int(want_w * scale)), max(1, int(want_h * scale))


def _resize(frame: Image.Image, size: tuple[int, int], method: str) -> Image.Image:
    if frame.size == size:
        return frame
    if method == "scale":
        return frame.resize(size, Image.Resampling.LANCZOS)
    return ImageOps.fit(frame, size, Image.Resampling.LANCZOS, centering=(0.5, 0.5))


def _normalise_mode(frame: Image.Image) -> Image.Image:
    if frame.mode in ("RGB", "RGBA", "L", "LA"):
        return frame
    has_alpha = "transparency" in frame.info or frame.mode in ("PA", "RGBa", "La")
    return frame.convert("RGBA" if has_alpha else "RGB")


def _encode_static(frame: Image.Image, source_type: str) -> tuple[bytes, str]:
    out = io.BytesIO()
    if source_type == "image/jpeg":
        frame.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
        return out.getvalue(), "image/jpeg"
    frame.save(out, "PNG", optimize=False, compress_level=6)
    return out.getvalue(), "image/png"


def _is_animated(image: Image.Image, max_pixels: int) -> bool:
    frames = int(getattr(image, "n_frames", 1))
    if not getattr(image, "is_animated", False) or frames > MAX_FRAMES:
        return False
    width, height = image.size
    return frames * width * height <= ANIMATION_BUDGET * max_pixels


def _animated(image: Image.Image, request: Request) -> Thumbnail:
    size = target_size(image.size, request)
    frames: list[Image.Image] = []
    durations: list[int] = []
    for frame in ImageSequence.Iterator(image):
        durations.append(int(frame.info.get("duration", 100)))
        frames.append(_resize(frame.convert("RGBA"), size, request.method))
    out = io.BytesIO()
    frames[0].save(
        out,
        "WEBP",
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=int(image.info.get("loop", 0)),
        quality=JPEG_QUALITY,
    )
    return Thumbnail(out.getvalue(), "image/webp", size[0], size[1])


def make_thumbnails(data: bytes, requests: Sequence[Request], max_pixels: int) -> list[Thumbnail]:
    """A thumbnail per request, decoding the image once for all static ones."""
    image = _open(data, max_pixels)
    source_type = _FORMATS[str(image.format)]
    animated = _is_animated(image, max_pixels)
    oriented = _oriented_size(image)
    orientation = _orientation(image)
    results: dict[Request, Thumbnail] = {}
    statics = [r for r in requests if not (r.animated and animated)]
    for request in requests:
        if request.animated and animated:
            image.seek(0)
            results[request] = _animated(image, request)
    if statics:
        image.seek(0)
        # JPEG can decode at 1/2, 1/4, 1/8 scale: never decode more than the largest need.
        largest = max((target_size(oriented, r) for r in statics), key=lambda s: s[0] * s[1])
        if orientation in _TRANSPOSED:
            largest = (largest[1], largest[0])
        original = image.size
        image.draft("RGB", largest)
        try:
            frame = _normalise_mode(ImageOps.exif_transpose(image) or image)
        except (OSError, ValueError) as e:
            raise CannotThumbnail(f"cannot decode the image: {e}") from None
        untouched = not animated and orientation == 1
        for request in statics:
            size = target_size(frame.size, request)
            if untouched and size == original == frame.size and source_type in THUMBNAILABLE:
                results[request] = Thumbnail(data, source_type, size[0], size[1])
                continue
            encoded, content_type = _encode_static(
                _resize(frame, size, request.method), source_type
            )
            results[request] = Thumbnail(encoded, content_type, size[0], size[1])
    return [results[r] for r in requests]
