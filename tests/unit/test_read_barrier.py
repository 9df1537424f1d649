"""``ReadBarrier``'s waiting, with the log, the projections' positions and the
bus stood in for: when the projections are slow to reach the head it pokes the
relays once, and past its timeout it refuses (503) instead of answering stale."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from tessera.app import read_barrier
from tessera.app.applied import AppliedPositions
from tessera.app.http.errors import MatrixError
from tessera.app.read_barrier import POKE_AFTER, ReadBarrier
from tessera.schema.bus import COMMITTED


class Log:
    def __init__(self, head: int) -> None:
        self.position = head

    def head(self) -> int:
        return self.position


class Signals:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    async def signal(self, topic: str, body: bytes = b"") -> None:
        self.sent.append((topic, body))


class Tokens:
    def __init__(self) -> None:
        self.caught_up: list[int] = []

    async def catch_up(self, changed: int) -> None:
        self.caught_up.append(changed)


def barrier(head: int, applied: AppliedPositions, bus: Signals, timeout: float) -> ReadBarrier:
    log, tokens, signals = cast(Any, Log(head)), cast(Any, Tokens()), cast(Any, bus)
    return ReadBarrier(log, applied, tokens, signals, timeout=timeout, max_unsettled=0)


async def test_no_wait_and_no_signal_when_the_projections_have_the_head() -> None:
    applied = AppliedPositions(["a", "b"], {"a": 7, "b": 7})
    bus = Signals()
    await barrier(7, applied, bus, timeout=5).wait()
    assert bus.sent == []


async def test_a_slow_catch_up_pokes_the_relays_with_the_head_then_answers() -> None:
    applied = AppliedPositions(["a", "b"], {"a": 5, "b": 7})
    bus = Signals()
    waiting = asyncio.ensure_future(barrier(7, applied, bus, timeout=5).wait())
    await asyncio.sleep(POKE_AFTER / 2)
    assert bus.sent == [] and not waiting.done()
    await asyncio.sleep(POKE_AFTER)
    assert bus.sent == [(COMMITTED, b"7")] and not waiting.done()
    applied.update("a", 7)
    await asyncio.wait_for(waiting, 1)


async def test_projections_that_never_catch_up_give_503_not_a_stale_read() -> None:
    applied = AppliedPositions(["a"], {"a": 3})
    with pytest.raises(MatrixError) as refused:
        await barrier(4, applied, Signals(), timeout=POKE_AFTER * 2).wait()
    assert (refused.value.status, refused.value.errcode) == (503, "M_UNKNOWN")


async def test_many_waiting_requests_poke_once_and_a_failing_bus_only_costs_the_poke() -> None:
    applied = AppliedPositions(["a"], {"a": 1})

    class Broken(Signals):
        async def signal(self, topic: str, body: bytes = b"") -> None:
            await super().signal(topic, body)
            raise ConnectionError("NATS is down")

    bus = Broken()
    shared = barrier(4, applied, bus, timeout=5)
    waiting = [asyncio.ensure_future(shared.wait()) for _ in range(5)]
    await asyncio.sleep(POKE_AFTER * 1.5)
    assert bus.sent == [(COMMITTED, b"4")], "one poke for the five"
    applied.update("a", 4)
    await asyncio.wait_for(asyncio.gather(*waiting), 1)


async def test_a_poke_is_sent_again_at_the_same_position_after_a_while(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A lost poke must not leave later requests at that position without one."""
    monkeypatch.setattr(read_barrier, "POKE_AGAIN", POKE_AFTER)
    applied = AppliedPositions(["a"], {"a": 1})
    bus = Signals()
    shared = barrier(4, applied, bus, timeout=5)
    first = asyncio.ensure_future(shared.wait())
    await asyncio.sleep(POKE_AFTER * 1.5)
    second = asyncio.ensure_future(shared.wait())
    await asyncio.sleep(POKE_AFTER * 1.5)
    assert bus.sent == [(COMMITTED, b"4"), (COMMITTED, b"4")]
    applied.update("a", 4)
    await asyncio.wait_for(asyncio.gather(first, second), 1)
