"""The read-model facts the room commands need (``tessera.command.room_deps.RoomLookups``).

Each is one small indexed query: a user's profile (the accounts read model),
the rooms a user is joined to (``current_state``) and which room an event is in
and who sent it (``room_events``); see docs/read-models.md for the tables.
"""

from __future__ import annotations

import asyncio

from tessera.command.room_deps import Profile
from tessera.schema.readmodel import ReadModelDatabase

from .accounts import aget_profile


class ReadModelRoomLookups:
    def __init__(self, db: ReadModelDatabase) -> None:
        self._db = db

    async def profile(self, user_id: str) -> Profile:
        found = await aget_profile(self._db, user_id)
        if not found:
            return Profile()
        return Profile(found.get("displayname"), found.get("avatar_url"))

    async def joined_rooms(self, user_id: str) -> list[str]:
        return await asyncio.to_thread(self._joined_rooms, user_id)

    def _joined_rooms(self, user_id: str) -> list[str]:
        return [
            str(row[0])
            for row in self._db.iter_rows(
                "SELECT room_id FROM current_state"
                " WHERE state_key = ? AND type = 'm.room.member' AND membership = 'join'",
                (user_id,),
            )
        ]

    async def event_origin(self, event_id: str) -> tuple[str, str] | None:
        return await asyncio.to_thread(self._event_origin, event_id)

    def _event_origin(self, event_id: str) -> tuple[str, str] | None:
        for room_id, sender in self._db.iter_rows(
            "SELECT room_id, sender FROM room_events WHERE event_id = ?", (event_id,)
        ):
            return str(room_id), str(sender)
        return None
