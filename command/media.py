"""The media repository's write side: reserving, uploading and thumbnailing media.

One stream per media ID (``tessera.schema.media``). The aggregate knows who
reserved the ID and until when, and whether content exists; the decisions
("may this user upload here now?") are made on it under the stream's lock, and
the store's version constraint settles races between processes.

These functions record *facts about stored bytes*: callers store the blob first
and append the record after, so a record never names a blob that is not there.
"""

from __future__ import annotations

import secrets

from tessera.schema.log import EventStore, LogRecord, NewRecord
from tessera.schema.media import (
    MEDIA_CREATED,
    MEDIA_UPLOADED,
    THUMBNAIL_STORED,
    MediaCreated,
    MediaUploaded,
    ThumbnailStored,
    media_stream,
)

from .group_commit import GroupCommitter
from .streams import StreamRepository

#: 24 random URL-safe characters: 144 bits, unguessable.
MEDIA_ID_BYTES = 18


def new_media_id() -> str:
    return secrets.token_urlsafe(MEDIA_ID_BYTES)


class MediaError(Exception):
    """A refused media command: its HTTP status and Matrix error code."""

    def __init__(self, status: int, errcode: str, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.errcode = errcode
        self.error = error


class Media:
    """The aggregate of one media ID's stream."""

    def __init__(self, stream: str) -> None:
        self.stream = stream
        self.stream_version = 0
        self.reserved_by: str | None = None
        self.expires_at: int | None = None
        self.uploaded: MediaUploaded | None = None
        self.thumbnails: set[str] = set()

    def apply(self, record: LogRecord | NewRecord) -> None:
        self.stream_version = record.version
        if record.kind == MEDIA_CREATED:
            created = MediaCreated.decode(record.payload)
            self.reserved_by, self.expires_at = created.user_id, created.expires_at
        elif record.kind == MEDIA_UPLOADED:
            self.uploaded = MediaUploaded.decode(record.payload)
        elif record.kind == THUMBNAIL_STORED:
            self.thumbnails.add(ThumbnailStored.decode(record.payload).spec)

    def next(self, kind: str, payload: bytes) -> NewRecord:
        return NewRecord(self.stream, self.stream_version + 1, kind, payload)

    def check_upload(self, user_id: str, now_ms: int, *, reserved: bool) -> None:
        """May ``user_id`` upload content here now? Raises MediaError if not.

        ``reserved``: the upload goes to an ID from ``POST /create`` (the async
        flow); otherwise the ID must be brand new."""
        if self.uploaded is not None:
            raise MediaError(409, "M_CANNOT_OVERWRITE_MEDIA", "Media already uploaded")
        if not reserved:
            if self.stream_version:
                raise MediaError(409, "M_CANNOT_OVERWRITE_MEDIA", "Media ID already in use")
            return
        if self.reserved_by is None or self.expires_at is None or now_ms >= self.expires_at:
            raise MediaError(404, "M_NOT_FOUND", "Unknown or expired media ID")
        if self.reserved_by != user_id:
            raise MediaError(403, "M_FORBIDDEN", "This media ID was created by another user")


class MediaCommands:
    def __init__(self, store: EventStore, committer: GroupCommitter, server_name: str) -> None:
        self.server_name = server_name
        self.repo: StreamRepository[Media] = StreamRepository(store, committer, Media)

    def stream(self, media_id: str) -> str:
        return media_stream(self.server_name, media_id)

    async def load(self, media_id: str) -> Media:
        """The aggregate, caught up with the log (another process may have written)."""
        return await self.repo.current(self.stream(media_id))

    async def create(self, user_id: str, now_ms: int, expiry_ms: int) -> tuple[list[int], str, int]:
        """``POST /_matrix/media/v1/create``: a fresh ID reserved for ``user_id``."""
        media_id = new_media_id()
        created = MediaCreated(media_id, user_id, now_ms, now_ms + expiry_ms)

        def decide(agg: Media) -> tuple[list[NewRecord], None]:
            if agg.stream_version:  # 144 random bits collided: refuse rather than share
                raise MediaError(500, "M_UNKNOWN", "Media ID collision; try again")
            return [agg.next(MEDIA_CREATED, created.encode())], None

        positions, _ = await self.repo.write(self.stream(media_id), decide)
        return positions, media_id, created.expires_at

    async def record_upload(
        self, uploaded: MediaUploaded, now_ms: int, *, reserved: bool
    ) -> list[int]:
        """Record stored content; MediaError if the ID may not take it (the caller
        then deletes the blob it stored)."""

        def decide(agg: Media) -> tuple[list[NewRecord], None]:
            agg.check_upload(uploaded.user_id, now_ms, reserved=reserved)
            return [agg.next(MEDIA_UPLOADED, uploaded.encode())], None

        positions, _ = await self.repo.write(self.stream(uploaded.media_id), decide)
        return positions

    async def record_thumbnail(self, thumbnail: ThumbnailStored) -> tuple[list[int], bool]:
        """Record a stored thumbnail; ``False`` if one for its spec was recorded
        first (by another process): the caller deletes its own blob."""

        def decide(agg: Media) -> tuple[list[NewRecord], bool]:
            if agg.uploaded is None:
                raise MediaError(404, "M_NOT_FOUND", "No such media")
            if thumbnail.spec in agg.thumbnails:
                return [], False
            return [agg.next(THUMBNAIL_STORED, thumbnail.encode())], True

        return await self.repo.write(self.stream(thumbnail.media_id), decide)
