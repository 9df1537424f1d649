"""Record kinds and payloads of room aliases, the published room directory, and
forgotten rooms: the room-related facts that are not PDUs.

Streams:

- ``#alias:server`` — one stream per local room alias (the alias itself; the
  sigil ``#`` keeps it apart from room IDs and user IDs). Its aggregate
  (``tessera.command.aliases.Alias``) knows whether the alias is taken, so two
  writers racing for one alias meet on the stream's version constraint.
- ``directory|!room:server`` — the room's visibility in the published room
  directory; an append-only ``Versioned`` stream.
- ``rooms|@user:server`` — user-level facts about rooms (forgetting one); an
  append-only ``Versioned`` stream.

Every payload is canonical JSON, the record's fields as one object
(``schema/payloads.py``). Kinds and their fields:

``alias.created``
    ``{"alias": str, "room_id": str, "creator": str}`` — the alias now points at
    ``room_id``; ``creator`` is the local user who made it (they may delete it).

``alias.deleted``
    ``{"alias": str, "room_id": str, "deleted_by": str}`` — the alias no longer
    exists; it may be created again later, for any room.

``room.visibility_set``
    ``{"room_id": str, "visibility": "public" | "private", "set_by": str}`` — the
    room's visibility in this server's published room directory.

``room.forgotten``
    ``{"room_id": str}`` — the user forgot the room (``POST …/forget``) after
    leaving it. The read side hides the room from that user until their
    membership changes again (see docs/read-models.md, "Forgotten rooms").
"""

from __future__ import annotations

import dataclasses

from tessera.schema.payloads import CanonicalJsonRecord

DIRECTORY_PREFIX = "directory|"
USER_ROOMS_PREFIX = "rooms|"

ALIAS_CREATED = "alias.created"
ALIAS_DELETED = "alias.deleted"
VISIBILITY_SET = "room.visibility_set"
ROOM_FORGOTTEN = "room.forgotten"

VISIBILITIES = ("public", "private")


def alias_stream(alias: str) -> str:
    return alias


def directory_stream(room_id: str) -> str:
    return DIRECTORY_PREFIX + room_id


def user_rooms_stream(user_id: str) -> str:
    return USER_ROOMS_PREFIX + user_id


@dataclasses.dataclass(frozen=True, slots=True)
class AliasCreated(CanonicalJsonRecord):
    alias: str
    room_id: str
    creator: str


@dataclasses.dataclass(frozen=True, slots=True)
class AliasDeleted(CanonicalJsonRecord):
    alias: str
    room_id: str
    deleted_by: str


@dataclasses.dataclass(frozen=True, slots=True)
class VisibilitySet(CanonicalJsonRecord):
    room_id: str
    visibility: str
    set_by: str


@dataclasses.dataclass(frozen=True, slots=True)
class RoomForgotten(CanonicalJsonRecord):
    room_id: str
