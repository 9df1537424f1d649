"""The read barrier's shared head query (``tessera.app.read_barrier.SharedHead``):
a request never takes the answer of a query that started before it arrived."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tessera.app.read_barrier import SharedHead


class Log:
    """A head that moves on with every read; a read can be held in flight."""

    def __init__(self) -> None:
        self.reads = 0
        self.hold = threading.Event()
        self.hold.set()
        self.started = threading.Event()

    def head(self) -> int:
        self.reads += 1
        self.started.set()
        self.hold.wait(5)
        return self.reads


async def test_each_request_alone_gets_its_own_read() -> None:
    log = Log()
    shared = SharedHead(log.head)
    assert [await shared.head() for _ in range(3)] == [1, 2, 3]


async def test_requests_arriving_during_a_read_share_the_next_one() -> None:
    log = Log()
    shared = SharedHead(log.head)
    log.hold.clear()
    first = asyncio.ensure_future(shared.head())
    await asyncio.to_thread(log.started.wait, 5)  # the first read is under way
    later = [asyncio.ensure_future(shared.head()) for _ in range(5)]
    await asyncio.sleep(0.05)
    assert log.reads == 1
    log.hold.set()
    assert await first == 1
    # Not the read that was under way when they arrived: one read, after it.
    assert await asyncio.gather(*later) == [2] * 5
    assert log.reads == 2


async def test_a_failed_read_fails_its_requests_and_the_next_one_reads_again() -> None:
    calls = 0

    def flaky() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("connection lost")
        return 7

    shared = SharedHead(flaky)
    with pytest.raises(OSError):
        await shared.head()
    assert await shared.head() == 7


async def test_a_cancelled_request_does_not_cancel_the_others() -> None:
    log = Log()
    shared = SharedHead(log.head)
    log.hold.clear()
    one, two = asyncio.ensure_future(shared.head()), asyncio.ensure_future(shared.head())
    await asyncio.to_thread(log.started.wait, 5)
    one.cancel()
    log.hold.set()
    assert await two == 1
    with pytest.raises(asyncio.CancelledError):
        await one
