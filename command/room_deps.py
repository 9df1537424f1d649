"""What the room commands run with, and how they refuse.

``RoomDeps`` is built once per process (``open_room_deps``) and passed to every
room command function (``create_room``, ``membership``, ``send``, ``state``,
``redact``, ``aliases``, ``directory``). The few facts a command needs that
only a read model holds (a user's profile and joined rooms, which room an event
belongs to) come through ``RoomLookups``, so the commands stay testable without
the read side.

A refusal is a ``RoomError``: the Matrix error (status, errcode, message) the
HTTP layer answers with. An auth-rule rejection becomes 403 ``M_FORBIDDEN``
carrying the rule's own message.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

from tessera.kernel.auth import AuthError
from tessera.kernel.signing import SigningKey
from tessera.schema.directory import ALIAS_CREATED, ALIAS_DELETED, AliasCreated
from tessera.schema.log import EventStore, LogRecord, NewRecord

from .group_commit import GroupCommitter
from .rooms import RoomRepository
from .streams import StreamRepository, Versioned


class RoomError(Exception):
    """A room command refused: ``status``/``errcode``/``error`` are the Matrix error."""

    def __init__(self, status: int, errcode: str, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.errcode = errcode
        self.error = error


def forbidden(error: str) -> RoomError:
    return RoomError(403, "M_FORBIDDEN", error)


def not_found(error: str) -> RoomError:
    return RoomError(404, "M_NOT_FOUND", error)


def bad_json(error: str) -> RoomError:
    return RoomError(400, "M_BAD_JSON", error)


def invalid_param(error: str) -> RoomError:
    return RoomError(400, "M_INVALID_PARAM", error)


def too_large(error: str) -> RoomError:
    return RoomError(413, "M_TOO_LARGE", error)


@contextmanager
def auth_refusal() -> Iterator[None]:
    """Turn an auth-rule rejection inside the block into 403 M_FORBIDDEN."""
    try:
        yield
    except AuthError as e:
        raise forbidden(str(e)) from None


@dataclasses.dataclass(frozen=True, slots=True)
class Profile:
    displayname: str | None = None
    avatar_url: str | None = None


class RoomLookups(Protocol):
    """Read-model facts the room commands need (``tessera.query.room_lookups``)."""

    async def profile(self, user_id: str) -> Profile:
        """The user's global profile (empty for an unknown user)."""
        ...

    async def joined_rooms(self, user_id: str) -> list[str]:
        """The rooms the user is joined to, as the read models know them."""
        ...

    async def event_origin(self, event_id: str) -> tuple[str, str] | None:
        """``(room_id, sender)`` of an accepted event, or None if unknown."""
        ...


class Alias:
    """The aggregate of an alias stream: which room it points at now, and who made it."""

    def __init__(self, stream: str) -> None:
        self.alias = stream
        self.stream_version = 0
        self.room_id: str | None = None
        self.creator: str | None = None

    def apply(self, record: LogRecord | NewRecord) -> None:
        self.stream_version = record.version
        if record.kind == ALIAS_CREATED:
            created = AliasCreated.decode(record.payload)
            self.room_id, self.creator = created.room_id, created.creator
        elif record.kind == ALIAS_DELETED:
            self.room_id = self.creator = None

    def next(self, kind: str, payload: bytes) -> NewRecord:
        return NewRecord(self.alias, self.stream_version + 1, kind, payload)


@dataclasses.dataclass(slots=True)
class RoomDeps:
    rooms: RoomRepository
    aliases: StreamRepository[Alias]
    #: Append-only streams: ``directory|<room>`` and ``rooms|<user>``.
    streams: StreamRepository[Versioned]
    signing_key: SigningKey
    server_name: str
    clock: Callable[[], int]
    lookups: RoomLookups


def open_room_deps(
    store: EventStore,
    committer: GroupCommitter,
    rooms: RoomRepository,
    *,
    signing_key: SigningKey,
    server_name: str,
    clock: Callable[[], int],
    lookups: RoomLookups,
) -> RoomDeps:
    return RoomDeps(
        rooms=rooms,
        aliases=StreamRepository(store, committer, Alias),
        streams=StreamRepository(store, committer, Versioned),
        signing_key=signing_key,
        server_name=server_name,
        clock=clock,
        lookups=lookups,
    )


def positions_max(positions: Sequence[int]) -> int:
    """The position a write's answer waits for (0: nothing was written)."""
    return max(positions, default=0)
