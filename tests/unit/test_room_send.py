"""Sending, state and redactions: idempotency, size limits, power."""

from __future__ import annotations

import pytest

from tessera.command import membership
from tessera.command.aliases import create_alias
from tessera.command.redact import redact
from tessera.command.room_deps import RoomDeps, RoomError
from tessera.command.send import send_message
from tessera.command.state import set_state
from tessera.schema.log import EventStore
from tests.unit.roomkit import ALICE, BOB, deps, log_records, new_room, pdus, send_text, store

__all__ = ["deps", "store"]


async def refused(coro: object, status: int = 403, errcode: str = "M_FORBIDDEN") -> RoomError:
    with pytest.raises(RoomError) as e:
        await coro  # type: ignore[misc]
    assert (e.value.status, e.value.errcode) == (status, errcode), e.value.error
    return e.value


async def public_room_with_bob(deps: RoomDeps, version: str = "12") -> str:
    room_id = await new_room(deps, preset="public_chat", room_version=version)
    await membership.join(deps, BOB, room_id)
    return room_id


async def test_a_retried_transaction_makes_no_second_event(
    deps: RoomDeps, store: EventStore
) -> None:
    room_id = await public_room_with_bob(deps)
    first = await send_text(deps, room_id, BOB, "hello", "t1")
    count = len(log_records(store))
    again = await send_text(deps, room_id, BOB, "hello (retry)", "t1")
    assert again == first and len(log_records(store)) == count
    other = await send_text(deps, room_id, BOB, "second", "t2")
    assert other != first
    # the transaction ID is per device
    event_id, _ = await send_message(
        deps,
        sender=BOB,
        device_id="PHONE",
        room_id=room_id,
        event_type="m.room.message",
        txn_id="t1",
        content={"body": "from the phone"},
    )
    assert event_id not in (first, other)


async def test_concurrent_retries_of_one_transaction_make_one_event(
    deps: RoomDeps, store: EventStore
) -> None:
    import asyncio

    room_id = await public_room_with_bob(deps)
    ids = await asyncio.gather(*(send_text(deps, room_id, BOB, "x", "same") for _ in range(10)))
    assert len(set(ids)) == 1
    assert sum(p["type"] == "m.room.message" for p in pdus(store, room_id)) == 1


async def test_non_members_cannot_send(deps: RoomDeps) -> None:
    room_id = await new_room(deps)
    await refused(send_text(deps, room_id, BOB, "let me talk", "t"))
    await refused(send_text(deps, "!unknown:hs.test", BOB, "hi", "t"), 404, "M_NOT_FOUND")


async def test_an_event_over_64_kib_is_too_large(deps: RoomDeps, store: EventStore) -> None:
    room_id = await public_room_with_bob(deps)
    count = len(log_records(store))
    await refused(send_text(deps, room_id, BOB, "x" * 65_536, "big"), 413, "M_TOO_LARGE")
    assert len(log_records(store)) == count
    await send_text(deps, room_id, BOB, "x" * 60_000, "fits")


async def test_a_member_cannot_raise_their_own_power_or_rename_the_room(
    deps: RoomDeps, store: EventStore
) -> None:
    room_id = await public_room_with_bob(deps)
    power = dict(pdus(store, room_id)[2]["content"])
    power["users"] = {BOB: 100}
    await refused(
        set_state(
            deps,
            sender=BOB,
            room_id=room_id,
            event_type="m.room.power_levels",
            state_key="",
            content=power,
        )
    )
    await refused(
        set_state(
            deps,
            sender=BOB,
            room_id=room_id,
            event_type="m.room.name",
            state_key="",
            content={"name": "Bob's room"},
        )
    )
    event_id, _ = await set_state(
        deps,
        sender=ALICE,
        room_id=room_id,
        event_type="m.room.name",
        state_key="",
        content={"name": "Alice's room"},
    )
    count = len(log_records(store))
    same, positions = await set_state(
        deps,
        sender=ALICE,
        room_id=room_id,
        event_type="m.room.name",
        state_key="",
        content={"name": "Alice's room"},
    )
    assert same == event_id and positions == [] and len(log_records(store)) == count


async def test_canonical_alias_must_point_at_the_room(deps: RoomDeps) -> None:
    room_id = await public_room_with_bob(deps)
    other = await new_room(deps, preset="public_chat")
    await create_alias(deps, "#here:hs.test", room_id, ALICE)
    await create_alias(deps, "#there:hs.test", other, ALICE)

    def canonical(content: dict[str, object]) -> object:
        return set_state(
            deps,
            sender=ALICE,
            room_id=room_id,
            event_type="m.room.canonical_alias",
            state_key="",
            content=content,
        )

    await refused(canonical({"alias": "#there:hs.test"}), 400, "M_BAD_ALIAS")
    await refused(canonical({"alias": "#missing:hs.test"}), 400, "M_BAD_ALIAS")
    await refused(canonical({"alias": "not an alias"}), 400, "M_INVALID_PARAM")
    await refused(canonical({"alt_aliases": "#here:hs.test"}), 400, "M_INVALID_PARAM")
    await canonical({"alias": "#here:hs.test", "alt_aliases": ["#here:hs.test"]})


@pytest.mark.parametrize("version", ["10", "11", "12"])
async def test_redact_own_event_and_others_only_with_power(
    deps: RoomDeps, store: EventStore, version: str
) -> None:
    room_id = await public_room_with_bob(deps, version)
    mine = await send_text(deps, room_id, BOB, "oops", "m1")
    alices = await send_text(deps, room_id, ALICE, "hello", "a1")

    async def bob_redacts(target: str, txn: str) -> str:
        event_id, _ = await redact(
            deps,
            sender=BOB,
            device_id="DEV",
            room_id=room_id,
            event_id=target,
            txn_id=txn,
            content={"reason": "typo"},
        )
        return event_id

    redaction_id = await bob_redacts(mine, "r1")
    assert await bob_redacts(mine, "r1") == redaction_id, "retried transaction"
    redaction = pdus(store, room_id)[-1]
    assert redaction["type"] == "m.room.redaction"
    if version == "10":
        assert redaction["redacts"] == mine and redaction["content"] == {"reason": "typo"}
    else:
        assert redaction["content"] == {"redacts": mine, "reason": "typo"}
    await refused(bob_redacts(alices, "r2"))
    await refused(bob_redacts("$nope", "r3"), 404, "M_NOT_FOUND")
    other_room = await new_room(deps, preset="public_chat")
    elsewhere = await send_text(deps, other_room, ALICE, "elsewhere", "a2")
    await refused(bob_redacts(elsewhere, "r4"), 404, "M_NOT_FOUND")
    await redact(
        deps,
        sender=ALICE,
        device_id="DEV",
        room_id=room_id,
        event_id=alices,
        txn_id="r5",
        content={},
    )


async def test_a_redaction_sent_through_send_is_checked_like_redact(
    deps: RoomDeps, store: EventStore
) -> None:
    room_id = await public_room_with_bob(deps)
    alices = await send_text(deps, room_id, ALICE, "hello", "a1")

    def send_redaction(sender: str, txn: str) -> object:
        return send_message(
            deps,
            sender=sender,
            device_id="DEV",
            room_id=room_id,
            event_type="m.room.redaction",
            txn_id=txn,
            content={"redacts": alices},
        )

    await refused(send_redaction(BOB, "x1"))
    await send_redaction(ALICE, "x2")
    assert pdus(store, room_id)[-1]["content"] == {"redacts": alices}
