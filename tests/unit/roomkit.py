"""Room commands on a real event store (SQLite in a tmp dir), for unit tests.

``LogLookups`` answers the read-model questions the commands ask by folding the
log itself, so these tests need no projection; the read models' own answers
are covered by the ROOMS-READ suites and the end-to-end tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tessera.app.eventstore import RecorderEventStore, open_sqlite
from tessera.command.create_room import CreateRoom, create_room
from tessera.command.group_commit import GroupCommitter
from tessera.command.room_deps import Profile, RoomDeps, open_room_deps
from tessera.command.rooms import RoomRepository
from tessera.command.send import send_message
from tessera.kernel.signing import SigningKey
from tessera.schema.log import EventStore, LogRecord
from tessera.schema.records import PDU, PduRecord

SERVER = "hs.test"
ALICE = f"@alice:{SERVER}"
BOB = f"@bob:{SERVER}"
CAROL = f"@carol:{SERVER}"


def log_records(store: EventStore) -> list[LogRecord]:
    return store.read(0, 1_000_000)


def pdus(store: EventStore, room_id: str | None = None) -> list[dict[str, Any]]:
    """Every PDU in the log (of one room), in log order, with its ``event_id``."""
    out = []
    for record in log_records(store):
        if record.kind != PDU or (room_id is not None and record.stream != room_id):
            continue
        body = PduRecord.decode(record.payload)
        out.append({**orjson.loads(body.pdu_json), "event_id": body.event_id})
    return out


class LogLookups:
    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.profiles: dict[str, Profile] = {}

    async def profile(self, user_id: str) -> Profile:
        return self.profiles.get(user_id, Profile())

    async def joined_rooms(self, user_id: str) -> list[str]:
        membership: dict[str, str] = {}
        for pdu in pdus(self.store):
            if pdu["type"] == "m.room.member" and pdu.get("state_key") == user_id:
                membership[pdu.get("room_id") or "!" + pdu["event_id"][1:]] = pdu["content"][
                    "membership"
                ]
        return [room for room, m in membership.items() if m == "join"]

    async def event_origin(self, event_id: str) -> tuple[str, str] | None:
        for record in log_records(self.store):
            if record.kind == PDU:
                body = PduRecord.decode(record.payload)
                if body.event_id == event_id:
                    return record.stream, orjson.loads(body.pdu_json)["sender"]
        return None


def make_deps(store: RecorderEventStore | EventStore, key: SigningKey | None = None) -> RoomDeps:
    committer = GroupCommitter(store)
    return open_room_deps(
        store,
        committer,
        RoomRepository(store, committer),
        signing_key=key or SigningKey.generate(),
        server_name=SERVER,
        clock=lambda: 1_700_000_000_000,
        lookups=LogLookups(store),
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RecorderEventStore]:
    opened = open_sqlite(str(tmp_path / "log.db"))
    yield opened
    opened.close()


@pytest.fixture
def deps(store: RecorderEventStore) -> RoomDeps:
    return make_deps(store)


async def new_room(deps: RoomDeps, creator: str = ALICE, **body: Any) -> str:
    room_id, _ = await create_room(deps, CreateRoom.from_body(creator, body))
    return room_id


async def send_text(deps: RoomDeps, room_id: str, sender: str, text: str, txn: str) -> str:
    event_id, _ = await send_message(
        deps,
        sender=sender,
        device_id="DEV",
        room_id=room_id,
        event_type="m.room.message",
        txn_id=txn,
        content={"msgtype": "m.text", "body": text},
    )
    return event_id
