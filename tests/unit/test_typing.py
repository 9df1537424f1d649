"""The typing tracker: start, stop, expiry, serials and waking."""

from __future__ import annotations

import asyncio

from tessera.query.typing import TypingTracker, TypingUpdate, decode_update, encode_update

ROOM = "!r:hs"


async def test_start_stop_and_serials() -> None:
    tracker = TypingTracker()
    assert tracker.apply(TypingUpdate(ROOM, "@a:hs", True, 30_000))
    assert not tracker.apply(TypingUpdate(ROOM, "@a:hs", True, 30_000))  # still typing: no change
    serial = tracker.serial
    assert tracker.changes([ROOM], None) == {ROOM: ["@a:hs"]}
    assert tracker.changes([ROOM], serial) == {}
    assert tracker.apply(TypingUpdate(ROOM, "@a:hs", False))
    assert tracker.changes([ROOM], serial) == {ROOM: []}  # the stop itself is news
    assert tracker.changes([ROOM], None) == {}
    await tracker.close()


async def test_typing_expires_after_its_timeout() -> None:
    tracker = TypingTracker()
    tracker.apply(TypingUpdate(ROOM, "@a:hs", True, 50))
    serial = tracker.serial
    assert await tracker.wait_changed([ROOM], serial, 2.0)
    assert tracker.typing_users(ROOM) == []
    assert tracker.changes([ROOM], serial) == {ROOM: []}
    await tracker.close()


async def test_wait_changed_wakes_on_a_change_in_its_rooms_only() -> None:
    tracker = TypingTracker()
    waiting = asyncio.ensure_future(tracker.wait_changed([ROOM], tracker.serial, 5.0))
    await asyncio.sleep(0)
    tracker.apply(TypingUpdate("!other:hs", "@a:hs", True, 30_000))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    tracker.apply(TypingUpdate(ROOM, "@b:hs", True, 30_000))
    assert await asyncio.wait_for(waiting, 1.0)
    await tracker.close()


async def test_a_serial_from_elsewhere_gets_the_full_picture() -> None:
    tracker = TypingTracker()
    tracker.apply(TypingUpdate(ROOM, "@a:hs", True, 30_000))
    assert tracker.changes([ROOM], tracker.serial + 100) == {ROOM: ["@a:hs"]}
    await tracker.close()


def test_signal_round_trip_ignores_its_own_origin() -> None:
    update = TypingUpdate(ROOM, "@a:hs", True, 1000)
    body = encode_update(update, "me")
    assert decode_update(body) == update
    assert decode_update(body, ignore_origin="me") is None
    assert decode_update(b"!room:hs") is None
