"""The room_aliases and public_rooms folds, applied to the records the room
commands really write, and the directory queries over them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tessera.app.readdb import SQLiteReadModels
from tessera.command import membership
from tessera.command.aliases import create_alias, delete_alias
from tessera.command.directory import set_visibility
from tessera.command.room_deps import RoomDeps
from tessera.command.state import set_state
from tessera.projections import aliases as aliases_projection
from tessera.projections import directory as directory_projection
from tessera.projections.runner import ProjectionRunner
from tessera.query import directory
from tessera.schema.log import EventStore, LogRecord
from tests.unit.roomkit import ALICE, BOB, CAROL, deps, log_records, new_room, store

__all__ = ["deps", "store"]


@pytest.fixture
def read_db(tmp_path: Path) -> Iterator[SQLiteReadModels]:
    db = SQLiteReadModels(str(tmp_path / "read.db"))
    yield db
    db.close()


def project(db: SQLiteReadModels, records: list[LogRecord]) -> list[str]:
    """Fold ``records`` into both read models; their checksums."""
    sums = []
    for projection in (aliases_projection, directory_projection):
        runner = ProjectionRunner(db, projection)
        runner.setup()
        runner.process(records)
        sums.append(runner.checksum())
    return sums


async def test_public_rooms_lists_published_rooms_with_their_summary(
    deps: RoomDeps, store: EventStore, read_db: SQLiteReadModels
) -> None:
    pub = await new_room(
        deps,
        visibility="public",
        name="Cheese",
        topic="Tasty cheese",
        room_alias_name="cheese",
    )
    space = await new_room(
        deps, visibility="public", name="Space", creation_content={"type": "m.space"}
    )
    hidden = await new_room(deps, preset="public_chat", name="Hidden cheese")
    for user in (BOB, CAROL):
        await membership.join(deps, user, pub)
    await membership.leave(deps, CAROL, pub)
    await set_state(
        deps,
        sender=ALICE,
        room_id=pub,
        event_type="m.room.history_visibility",
        state_key="",
        content={"history_visibility": "world_readable"},
    )
    project(read_db, log_records(store))

    body = directory.public_rooms(read_db)
    assert [c["room_id"] for c in body["chunk"]] == [pub, space], "most members first"
    assert body["total_room_count_estimate"] == 2
    assert body["chunk"][0] == {
        "room_id": pub,
        "name": "Cheese",
        "topic": "Tasty cheese",
        "canonical_alias": "#cheese:hs.test",
        "num_joined_members": 2,
        "world_readable": True,
        "guest_can_join": False,
        "join_rule": "public",
    }
    assert body["chunk"][1]["room_type"] == "m.space"
    assert hidden not in str(body)

    searched = directory.public_rooms(read_db, search="CHEESE")
    assert [c["room_id"] for c in searched["chunk"]] == [pub]
    typed = directory.public_rooms(read_db, room_types=[None])
    assert [c["room_id"] for c in typed["chunk"]] == [pub]

    first = directory.public_rooms(read_db, limit=1)
    assert len(first["chunk"]) == 1 and "prev_batch" not in first
    second = directory.public_rooms(read_db, limit=1, since=first["next_batch"])
    assert [c["room_id"] for c in second["chunk"]] == [space]
    assert "next_batch" not in second and second["prev_batch"] == "o0"
    with pytest.raises(directory.BadToken):
        directory.public_rooms(read_db, since="nonsense")

    await set_visibility(deps, ALICE, pub, "private")
    project(read_db, log_records(store))
    assert directory.visibility(read_db, pub) == "private"
    assert [c["room_id"] for c in directory.public_rooms(read_db)["chunk"]] == [space]
    assert directory.visibility(read_db, "!unknown:hs.test") is None


async def test_aliases_read_model_follows_creation_and_deletion(
    deps: RoomDeps, store: EventStore, read_db: SQLiteReadModels
) -> None:
    room_id = await new_room(deps, room_alias_name="one")
    await create_alias(deps, "#two:hs.test", room_id, ALICE)
    await create_alias(deps, "#three:hs.test", room_id, ALICE)
    await delete_alias(deps, "#three:hs.test", ALICE)
    project(read_db, log_records(store))
    assert directory.room_for_alias(read_db, "#one:hs.test") == room_id
    assert directory.room_for_alias(read_db, "#three:hs.test") is None
    assert directory.aliases_of_room(read_db, room_id) == ["#one:hs.test", "#two:hs.test"]


async def test_a_rebuild_gives_the_same_read_models(
    deps: RoomDeps, store: EventStore, tmp_path: Path
) -> None:
    room_id = await new_room(deps, visibility="public", room_alias_name="r")
    await membership.join(deps, BOB, room_id)
    await create_alias(deps, "#s:hs.test", room_id, ALICE)
    records = log_records(store)
    one = SQLiteReadModels(str(tmp_path / "one.db"))
    two = SQLiteReadModels(str(tmp_path / "two.db"))
    try:
        in_one_go = project(one, records)
        for record in records:  # one at a time, with every record delivered twice
            project(two, [record])
            project(two, [record])
        assert project(two, []) == in_one_go
    finally:
        one.close()
        two.close()
