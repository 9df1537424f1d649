"""Server-side key backup: versions and the room keys stored in them.

The aggregate of ``backup|<user>`` holds each live version's sessions' ranking
fields, so the spec's rule for a key uploaded twice (keep the verified one, then
the lower ``first_message_index``, then the lower ``forwarded_count``) is decided
under the stream's lock, and every change carries the version's new ``etag``
and ``count``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tessera.schema import keys as enc
from tessera.schema import room_keys as rk
from tessera.schema.log import EventStore, LogRecord, NewRecord

from .group_commit import GroupCommitter
from .keys_validate import KeysRefused
from .streams import StreamRepository

Rank = tuple[bool, int, int]
SessionKey = tuple[str, str]


@dataclasses.dataclass(slots=True)
class BackupVersion:
    algorithm: str
    auth_data: dict[str, Any]
    etag: int = 0
    #: (room, session) -> (is_verified, first_message_index, forwarded_count)
    sessions: dict[SessionKey, Rank] = dataclasses.field(default_factory=dict)


def not_found(error: str = "Unknown backup version") -> KeysRefused:
    return KeysRefused(404, "M_NOT_FOUND", error)


def rank(data: dict[str, Any]) -> Rank:
    return (
        bool(data["is_verified"]),
        int(data["first_message_index"]),
        int(data["forwarded_count"]),
    )


def better(new: Rank, old: Rank) -> bool:
    """Does the new key replace the stored one? (Equal ranks keep the stored key.)"""
    if new[0] != old[0]:
        return new[0]
    if new[1] != old[1]:
        return new[1] < old[1]
    return new[2] < old[2]


def check_key_data(data: object) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise KeysRefused(400, "M_BAD_JSON", "Each session's key data must be an object")
    ints = ("first_message_index", "forwarded_count")
    if not all(isinstance(data.get(f), int) and not isinstance(data.get(f), bool) for f in ints):
        raise KeysRefused(400, "M_BAD_JSON", "first_message_index/forwarded_count must be integers")
    if not isinstance(data.get("is_verified"), bool) or not isinstance(
        data.get("session_data"), dict
    ):
        raise KeysRefused(
            400, "M_BAD_JSON", "is_verified must be a boolean, session_data an object"
        )
    return data


class Backup:
    def __init__(self, stream: str) -> None:
        self.stream = stream
        self.stream_version = 0
        self.last = 0
        self.versions: dict[int, BackupVersion] = {}

    @property
    def current(self) -> int | None:
        return max(self.versions) if self.versions else None

    def apply(self, record: LogRecord | NewRecord) -> None:
        self.stream_version = record.version
        body = enc.decode(record.payload)
        if record.kind == rk.VERSION_CREATED:
            self.last = int(body["version"])
            self.versions[self.last] = BackupVersion(body["algorithm"], body["auth_data"])
        elif record.kind == rk.VERSION_DELETED:
            self.versions.pop(int(body["version"]), None)
        elif (version := self.versions.get(int(body["version"]))) is None:
            return
        elif record.kind == rk.VERSION_UPDATED:
            version.auth_data = body["auth_data"]
        elif record.kind == rk.KEYS_PUT:
            version.etag = int(body["etag"])
            for room_id, session_id, data in body["keys"]:
                version.sessions[(room_id, session_id)] = rank(data)
        elif record.kind == rk.KEYS_DELETED:
            version.etag = int(body["etag"])
            for room_id, session_id in body["keys"]:
                version.sessions.pop((room_id, session_id), None)

    def _record(self, kind: str, body: dict[str, Any]) -> list[NewRecord]:
        return [NewRecord(self.stream, self.stream_version + 1, kind, enc.encode(body))]

    def version(self, text: str) -> tuple[int, BackupVersion]:
        number = int(text) if text.isdigit() and len(text) < 18 else -1
        found = self.versions.get(number)
        if found is None:
            raise not_found()
        return number, found

    def decide_create(
        self, algorithm: str, auth_data: dict[str, Any]
    ) -> tuple[list[NewRecord], str]:
        version = str(self.last + 1)
        body = {"version": version, "algorithm": algorithm, "auth_data": auth_data}
        return self._record(rk.VERSION_CREATED, body), version

    def decide_update(
        self, text: str, algorithm: str, auth_data: dict[str, Any]
    ) -> list[NewRecord]:
        number, version = self.version(text)
        if algorithm != version.algorithm:
            raise KeysRefused(400, "M_INVALID_PARAM", "The algorithm of a backup cannot change")
        return self._record(rk.VERSION_UPDATED, {"version": str(number), "auth_data": auth_data})

    def decide_delete(self, text: str) -> list[NewRecord]:
        number, _ = self.version(text)
        return self._record(rk.VERSION_DELETED, {"version": str(number)})

    def decide_put(
        self, text: str, keys: list[tuple[str, str, dict[str, Any]]]
    ) -> tuple[list[NewRecord], dict[str, Any]]:
        number, version = self.version(text)
        if number != self.current:
            raise KeysRefused(
                403,
                "M_WRONG_ROOM_KEYS_VERSION",
                "Keys are only added to the current backup version",
            ).with_extra(current_version=str(self.current))
        chosen: dict[SessionKey, dict[str, Any]] = {}
        for room_id, session_id, data in keys:
            old = chosen.get((room_id, session_id))
            stored = version.sessions.get((room_id, session_id))
            against = rank(old) if old is not None else stored
            if against is None or better(rank(data), against):
                chosen[(room_id, session_id)] = data
        if not chosen:
            return [], {"etag": str(version.etag), "count": len(version.sessions)}
        count = len(version.sessions.keys() | chosen.keys())
        body = {
            "version": str(number),
            "keys": [[r, s, d] for (r, s), d in chosen.items()],
            "etag": version.etag + 1,
            "count": count,
        }
        return self._record(rk.KEYS_PUT, body), {"etag": str(version.etag + 1), "count": count}

    def decide_delete_keys(
        self, text: str, room_id: str | None, session_id: str | None
    ) -> tuple[list[NewRecord], dict[str, Any]]:
        number, version = self.version(text)
        gone = [
            [r, s]
            for (r, s) in version.sessions
            if (room_id is None or r == room_id) and (session_id is None or s == session_id)
        ]
        if not gone:
            return [], {"etag": str(version.etag), "count": len(version.sessions)}
        count = len(version.sessions) - len(gone)
        body = {"version": str(number), "keys": gone, "etag": version.etag + 1, "count": count}
        return self._record(rk.KEYS_DELETED, body), {"etag": str(version.etag + 1), "count": count}


class BackupCommands:
    def __init__(self, store: EventStore, committer: GroupCommitter) -> None:
        self.repo: StreamRepository[Backup] = StreamRepository(store, committer, Backup)

    async def create(
        self, user_id: str, algorithm: str, auth_data: dict[str, Any]
    ) -> tuple[list[int], str]:
        return await self.repo.write(
            rk.backup_stream(user_id), lambda b: b.decide_create(algorithm, auth_data)
        )

    async def update(
        self, user_id: str, version: str, algorithm: str, auth_data: dict[str, Any]
    ) -> list[int]:
        positions, _ = await self.repo.write(
            rk.backup_stream(user_id),
            lambda b: (b.decide_update(version, algorithm, auth_data), None),
        )
        return positions

    async def delete(self, user_id: str, version: str) -> list[int]:
        positions, _ = await self.repo.write(
            rk.backup_stream(user_id), lambda b: (b.decide_delete(version), None)
        )
        return positions

    async def put_keys(
        self, user_id: str, version: str, keys: list[tuple[str, str, dict[str, Any]]]
    ) -> tuple[list[int], dict[str, Any]]:
        return await self.repo.write(
            rk.backup_stream(user_id), lambda b: b.decide_put(version, keys)
        )

    async def delete_keys(
        self, user_id: str, version: str, room_id: str | None, session_id: str | None
    ) -> tuple[list[int], dict[str, Any]]:
        return await self.repo.write(
            rk.backup_stream(user_id), lambda b: b.decide_delete_keys(version, room_id, session_id)
        )
