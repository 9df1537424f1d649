"""Record kinds and payloads of the media repository: what is known *about* each
piece of content. The bytes themselves live in blob storage (``schema/blobs.py``),
never in the log; a record names its blob by key.

Streams: ``media|<server>/<media_id>`` — one per ``mxc://`` URI. Its aggregate
(``tessera.command.media.Media``) knows whether the ID is reserved, by whom,
until when, and whether content was uploaded, so two uploads racing for one
reserved ID meet on the stream's version constraint: exactly one wins.

Every payload is the record's fields as a JSON object with sorted keys
(``schema/payloads.py``). Kinds and their fields:

``media.created``
    ``{"media_id", "user_id", "created_ts", "expires_at"}`` — ``POST
    /media/v1/create`` reserved the ID for ``user_id``; the content must be
    uploaded (``PUT /media/v3/upload/…``) before ``expires_at`` (ms).

``media.uploaded``
    ``{"media_id", "user_id", "content_type", "size", "file_name" | null,
    "sha256", "blob", "uploaded_ts"}`` — the content is stored under ``blob``;
    ``sha256`` is the hex digest of exactly ``size`` bytes. Media are immutable:
    at most one per stream.

``media.thumbnail_stored``
    ``{"media_id", "spec", "width", "height", "content_type", "size", "blob"}`` —
    a thumbnail was generated and stored. ``spec`` is what it answers
    (``WIDTHxHEIGHT-method`` plus ``-animated`` for an animated one, see
    ``thumbnail_spec``); ``width``/``height`` are its real dimensions.
"""

from __future__ import annotations

import dataclasses
import re

from tessera.schema.payloads import JsonRecord

MEDIA_PREFIX = "media|"

MEDIA_CREATED = "media.created"
MEDIA_UPLOADED = "media.uploaded"
THUMBNAIL_STORED = "media.thumbnail_stored"

#: The spec's character set for media IDs: anything else could traverse paths.
MEDIA_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def media_stream(server_name: str, media_id: str) -> str:
    return f"{MEDIA_PREFIX}{server_name}/{media_id}"


def is_valid_media_id(media_id: str) -> bool:
    return MEDIA_ID_RE.match(media_id) is not None


def thumbnail_spec(width: int, height: int, method: str, animated: bool) -> str:
    return f"{width}x{height}-{method}" + ("-animated" if animated else "")


@dataclasses.dataclass(frozen=True, slots=True)
class MediaCreated(JsonRecord):
    media_id: str
    user_id: str
    created_ts: int
    expires_at: int


@dataclasses.dataclass(frozen=True, slots=True)
class MediaUploaded(JsonRecord):
    media_id: str
    user_id: str
    content_type: str
    size: int
    file_name: str | None
    sha256: str
    blob: str
    uploaded_ts: int


@dataclasses.dataclass(frozen=True, slots=True)
class ThumbnailStored(JsonRecord):
    media_id: str
    spec: str
    width: int
    height: int
    content_type: str
    size: int
    blob: str
