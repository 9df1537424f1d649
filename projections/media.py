"""The media read model: what each local ``mxc://`` URI holds, and its thumbnails.

Folds the media streams (``tessera.schema.media``). A reserved ID (``POST
/media/v1/create``) is a row with ``state = 'pending'`` until its content is
uploaded (``'ready'``); an expired reservation stays ``pending`` (readers compare
``expires_at`` with the clock), so the fold stays pure.
"""

from __future__ import annotations

from tessera.schema.log import LogRecord
from tessera.schema.media import (
    MEDIA_CREATED,
    MEDIA_UPLOADED,
    THUMBNAIL_STORED,
    MediaCreated,
    MediaUploaded,
    ThumbnailStored,
)
from tessera.schema.readmodel import Change

name = "media"
tables: tuple[str, ...] = ("media", "media_thumbnails")
migrations: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS media ("
    " media_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, state TEXT NOT NULL,"
    " created_ts BIGINT NOT NULL, expires_at BIGINT,"
    " content_type TEXT, size BIGINT, file_name TEXT, sha256 TEXT, blob TEXT,"
    " position BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS media_pending ON media (user_id, state, expires_at)",
    "CREATE TABLE IF NOT EXISTS media_thumbnails ("
    " media_id TEXT NOT NULL, spec TEXT NOT NULL, width BIGINT NOT NULL,"
    " height BIGINT NOT NULL, content_type TEXT NOT NULL, size BIGINT NOT NULL,"
    " blob TEXT NOT NULL, position BIGINT NOT NULL, PRIMARY KEY (media_id, spec))",
)

_CREATED = (
    "INSERT INTO media (media_id, user_id, state, created_ts, expires_at, position)"
    " VALUES (?, ?, 'pending', ?, ?, ?) ON CONFLICT (media_id) DO NOTHING"
)
_UPLOADED = (
    "INSERT INTO media (media_id, user_id, state, created_ts, expires_at, content_type, size,"
    " file_name, sha256, blob, position) VALUES (?, ?, 'ready', ?, NULL, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (media_id) DO UPDATE SET state = 'ready', expires_at = NULL,"
    " content_type = excluded.content_type, size = excluded.size,"
    " file_name = excluded.file_name, sha256 = excluded.sha256, blob = excluded.blob,"
    " position = excluded.position"
)
_THUMBNAIL = (
    "INSERT INTO media_thumbnails (media_id, spec, width, height, content_type, size, blob,"
    " position) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (media_id, spec) DO NOTHING"
)


def apply(record: LogRecord) -> list[Change]:
    if record.kind == MEDIA_CREATED:
        c = MediaCreated.decode(record.payload)
        return [
            Change(_CREATED, (c.media_id, c.user_id, c.created_ts, c.expires_at, record.position))
        ]
    if record.kind == MEDIA_UPLOADED:
        u = MediaUploaded.decode(record.payload)
        params = (u.media_id, u.user_id, u.uploaded_ts, u.content_type, u.size, u.file_name,
                  u.sha256, u.blob, record.position)  # fmt: skip
        return [Change(_UPLOADED, params)]
    if record.kind == THUMBNAIL_STORED:
        t = ThumbnailStored.decode(record.payload)
        thumb = (t.media_id, t.spec, t.width, t.height, t.content_type, t.size, t.blob,
                  record.position)  # fmt: skip
        return [Change(_THUMBNAIL, thumb)]
    return []
