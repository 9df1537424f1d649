"""Record kinds of server-side key backup (docs/e2ee.md).

One stream per user, ``backup|@alice:hs``. Its aggregate knows the versions and,
for each live version, every backed-up session's ranking fields, so the
spec's "better session" rule is decided on the write side; records carry the
resulting ``etag`` and ``count`` so the read model only stores them.

``backup.version_created`` ``{"version", "algorithm", "auth_data"}``
``backup.version_updated`` ``{"version", "auth_data"}``
``backup.version_deleted`` ``{"version"}``
``backup.keys_put``        ``{"version", "keys": [[room, session, key_data], …], "etag", "count"}``
``backup.keys_deleted``    ``{"version", "keys": [[room_id, session_id], …], "etag", "count"}``
"""

from __future__ import annotations

BACKUP_PREFIX = "backup|"

VERSION_CREATED = "backup.version_created"
VERSION_UPDATED = "backup.version_updated"
VERSION_DELETED = "backup.version_deleted"
KEYS_PUT = "backup.keys_put"
KEYS_DELETED = "backup.keys_deleted"


def backup_stream(user_id: str) -> str:
    return BACKUP_PREFIX + user_id


def backup_stream_user(stream: str) -> str | None:
    return stream[len(BACKUP_PREFIX) :] if stream.startswith(BACKUP_PREFIX) else None
