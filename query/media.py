"""Reads of the media read model (``projections/media.py``).

Each function blocks (one small query); async callers use the ``a``-prefixed
variants, which run it in a thread.
"""

from __future__ import annotations

import asyncio
import dataclasses

from tessera.schema.readmodel import ReadModelDatabase


@dataclasses.dataclass(frozen=True, slots=True)
class MediaRow:
    media_id: str
    user_id: str
    #: ``pending`` (reserved by ``POST /create``, no content yet) or ``ready``.
    state: str
    created_ts: int
    expires_at: int | None
    content_type: str | None
    size: int | None
    file_name: str | None
    sha256: str | None
    blob: str | None

    @property
    def ready(self) -> bool:
        return self.state == "ready"


@dataclasses.dataclass(frozen=True, slots=True)
class ThumbnailRow:
    spec: str
    width: int
    height: int
    content_type: str
    size: int
    blob: str


def get_media(db: ReadModelDatabase, media_id: str) -> MediaRow | None:
    for row in db.iter_rows(
        "SELECT media_id, user_id, state, created_ts, expires_at, content_type, size,"
        " file_name, sha256, blob FROM media WHERE media_id = ?",
        (media_id,),
    ):
        return MediaRow(*row)
    return None


async def aget_media(db: ReadModelDatabase, media_id: str) -> MediaRow | None:
    return await asyncio.to_thread(get_media, db, media_id)


def thumbnails(db: ReadModelDatabase, media_id: str) -> list[ThumbnailRow]:
    return [
        ThumbnailRow(*row)
        for row in db.iter_rows(
            "SELECT spec, width, height, content_type, size, blob FROM media_thumbnails"
            " WHERE media_id = ?",
            (media_id,),
        )
    ]


async def athumbnails(db: ReadModelDatabase, media_id: str) -> list[ThumbnailRow]:
    return await asyncio.to_thread(thumbnails, db, media_id)


def pending_count(db: ReadModelDatabase, user_id: str, now_ms: int) -> int:
    """How many reserved, unexpired, still empty media IDs ``user_id`` holds."""
    for (count,) in db.iter_rows(
        "SELECT COUNT(*) FROM media WHERE user_id = ? AND state = 'pending' AND expires_at > ?",
        (user_id, now_ms),
    ):
        return int(count)
    return 0


async def apending_count(db: ReadModelDatabase, user_id: str, now_ms: int) -> int:
    return await asyncio.to_thread(pending_count, db, user_id, now_ms)
