"""Checks made before a write, on a cached aggregate another writer ("process")
has moved on: they decide on the log's latest, never on a stale copy (both
profiles). A refusal made there is never looked at again, and a decision such as
"this replaces a cross-signing key, ask for the password" must not be skipped."""

from __future__ import annotations

from tessera.command import membership
from tessera.command.aliases import create_alias
from tessera.command.create_room import CreateRoom, create_room
from tessera.command.directory import set_visibility
from tessera.command.group_commit import GroupCommitter
from tessera.command.keys_service import KeyCommands
from tessera.kernel.signing import SigningKey
from tessera.schema.log import EventStore
from tests.e2e.e2ee_kit import cross_signing_body, cross_signing_key
from tests.unit.roomkit import ALICE, BOB, SERVER, make_deps


async def test_room_checks_see_a_join_or_leave_made_through_another_writer(
    event_store: EventStore,
) -> None:
    key = SigningKey.generate()
    one, two = make_deps(event_store, key), make_deps(event_store, key)
    room_id, _ = await create_room(one, CreateRoom.from_body(ALICE, {"preset": "public_chat"}))
    await membership.join(two, BOB, room_id)  # `one` still holds the room without Bob
    await create_alias(one, f"#bobs:{SERVER}", room_id, BOB)  # "must be joined" on the stale copy
    await membership.leave(two, BOB, room_id)
    await membership.forget(one, BOB, room_id)  # "must leave first" on the stale copy
    await set_visibility(one, ALICE, room_id, "public")


async def test_replacing_a_master_key_uploaded_through_another_writer_asks_for_auth(
    event_store: EventStore,
) -> None:
    one = KeyCommands(event_store, GroupCommitter(event_store))
    two = KeyCommands(event_store, GroupCommitter(event_store))
    asked: list[str] = []

    async def authenticate() -> None:
        asked.append("password")

    def master() -> dict[str, object]:
        return {"master_key": cross_signing_body(ALICE, "master", cross_signing_key())}

    await two.upload_cross_signing(ALICE, {}, authenticate)  # `two` caches Alice's keys
    await one.upload_cross_signing(ALICE, master(), authenticate)  # a first master: no auth
    assert asked == []
    await two.upload_cross_signing(ALICE, master(), authenticate)  # replaces it
    assert asked == ["password"], "a master key was replaced without re-authentication"
