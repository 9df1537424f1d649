"""Thumbnail sizes as the configuration spells them: ``WIDTHxHEIGHT-crop|scale``."""

from __future__ import annotations

import dataclasses
import re

METHODS = ("crop", "scale")
#: Larger requests are served at this size at most (and never upscaled).
MAX_THUMBNAIL_DIMENSION = 2048

_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})-(crop|scale)$")


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class ThumbnailSize:
    width: int
    height: int
    method: str


def parse_thumbnail_size(text: str) -> ThumbnailSize:
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not WIDTHxHEIGHT-crop or WIDTHxHEIGHT-scale")
    width, height = int(match[1]), int(match[2])
    if not (1 <= width <= MAX_THUMBNAIL_DIMENSION and 1 <= height <= MAX_THUMBNAIL_DIMENSION):
        raise ValueError(f"{text!r}: dimensions must be 1 to {MAX_THUMBNAIL_DIMENSION}")
    return ThumbnailSize(width, height, match[3])


def close_fit(
    configured: list[ThumbnailSize], width: int, height: int, method: str
) -> ThumbnailSize | None:
    """The smallest configured size of ``method`` at least as large as asked and at
    most twice as large: served instead of generating yet another size, which
    bounds what arbitrary requests can add to storage."""
    fits = [
        s
        for s in configured
        if s.method == method and width <= s.width <= 2 * width and height <= s.height <= 2 * height
    ]
    return min(fits, key=lambda s: s.width * s.height, default=None)
