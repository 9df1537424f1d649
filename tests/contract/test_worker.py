"""Projection workers on both profiles: exactly once in effect, whatever dies when (invariant 4)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tessera.app.applied import AppliedPositions
from tessera.command.group_commit import GroupCommitter
from tessera.projections.relay import Relay, commit_signal
from tessera.projections.runner import ProjectionRunner
from tessera.projections.worker import ProjectionWorker
from tessera.schema.bus import Bus, BusRecord, RecordConsumer
from tests.contract.busprofile import (
    PROFILES,
    Profile,
    Trail,
    clean_rebuild_checksum,
    open_profile,
    records,
)


@pytest.fixture(params=PROFILES)
async def profile(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Profile]:
    async with open_profile(request.param, tmp_path) as p:
        yield p


@contextlib.asynccontextmanager
async def task_of(coroutine: object) -> AsyncIterator[asyncio.Task[None]]:
    task: asyncio.Task[None] = asyncio.create_task(coroutine)  # type: ignore[arg-type]
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def api_view(profile: Profile) -> AppliedPositions:
    """What an API process sees: its own bus connection, the tracking table read at start."""
    return await AppliedPositions.start(await profile.bus(), profile.db, ["trail"])


def worker(profile: Profile, bus: object, projection: Trail | None = None) -> ProjectionWorker:
    runner = ProjectionRunner(profile.db, projection or Trail())
    return ProjectionWorker(runner, bus, profile.log, batch=7, retry_interval=0.05)  # type: ignore[arg-type]


async def test_writes_become_visible_and_equal_a_clean_rebuild(
    profile: Profile, tmp_path: Path
) -> None:
    bus = await profile.bus()
    applied = await api_view(profile)
    committer = GroupCommitter(profile.log, on_commit=commit_signal(bus))
    w = worker(profile, bus)
    async with task_of(w.run()), task_of(Relay(profile.log, bus, fallback_interval=60).run()):
        await asyncio.wait_for(w.caught_up.wait(), 5)
        for v in range(1, 12):
            positions = await committer.append(records(v, 1))
            # Read-your-writes: once wait_for returns, the read model has the write.
            await applied.wait_for(positions[-1], timeout=5)
            [(n,)] = profile.db.iter_rows("SELECT n FROM trails WHERE stream = '!s0:test'")
            assert n == sum(1 for x in range(1, v + 1) if x % 5)
    assert w.runner.checksum() == clean_rebuild_checksum(profile, tmp_path)
    await applied.close()


async def test_a_worker_dying_mid_batch_resumes_exactly_once(
    profile: Profile, tmp_path: Path
) -> None:
    bus = await profile.bus()
    applied = await api_view(profile)
    profile.log.append(records(1, 4))
    crashing = Trail(fail_at=7)  # raises inside the transaction, after some changes
    w = worker(profile, bus, crashing)
    async with task_of(w.run()), task_of(Relay(profile.log, bus, fallback_interval=0.05).run()):
        profile.log.append(records(5, 4))
        await applied.wait_for(profile.log.head(), timeout=10)
    assert crashing.fail_at is None  # it did die once
    assert w.runner.checksum() == clean_rebuild_checksum(profile, tmp_path)
    await applied.close()


async def test_a_cancelled_worker_restarted_mid_stream_loses_and_repeats_nothing(
    profile: Profile, tmp_path: Path
) -> None:
    bus = await profile.bus()
    applied = await api_view(profile)
    committer = GroupCommitter(profile.log, on_commit=commit_signal(bus))

    async def write() -> None:
        for v in range(1, 40):
            await committer.append(records(v, 1))
            await asyncio.sleep(0.005)

    async with task_of(Relay(profile.log, bus, fallback_interval=0.05).run()):
        writer = asyncio.create_task(write())
        for _ in range(3):  # kill it three times while records keep coming
            w = worker(profile, await profile.bus())
            async with task_of(w.run()):
                await asyncio.sleep(0.08)
        await writer
        w = worker(profile, await profile.bus())
        async with task_of(w.run()):
            await applied.wait_for(profile.log.head(), timeout=10)
    assert w.runner.checksum() == clean_rebuild_checksum(profile, tmp_path)
    await applied.close()


class SwallowingConsumer:
    """Delivers what ``inner`` delivers, but once returns ``[]`` to a cancelled
    fetch: what nats-py's fetch does on Python 3.11 when the cancellation comes
    in the loop iteration a message does (``asyncio.wait_for``, CPython gh-86296),
    made deterministic."""

    def __init__(self, inner: RecordConsumer) -> None:
        self._inner = inner
        self.swallowed = 0
        self.fetching = asyncio.Event()

    async def fetch(self, max_records: int, wait: float) -> list[BusRecord]:
        self.fetching.set()
        try:
            return await self._inner.fetch(max_records, wait)
        except asyncio.CancelledError:
            if self.swallowed:
                raise
            self.swallowed += 1
            return []

    async def ack(self) -> None:
        await self._inner.ack()

    async def close(self) -> None:
        await self._inner.close()


class SwallowingBus:
    """The profile's bus, but its consumers are ``SwallowingConsumer``s."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self.consumers: list[SwallowingConsumer] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self._bus, name)

    async def consumer(self, name: str) -> RecordConsumer:
        self.consumers.append(SwallowingConsumer(await self._bus.consumer(name)))
        return self.consumers[-1]


async def test_a_cancelled_worker_stops_even_if_a_fetch_swallows_the_cancellation(
    profile: Profile,
) -> None:
    bus = SwallowingBus(await profile.bus())
    profile.log.append(records(1, 2))
    w = worker(profile, bus)
    task = asyncio.create_task(w.run())
    await asyncio.wait_for(w.caught_up.wait(), 5)
    await asyncio.wait_for(bus.consumers[0].fetching.wait(), 5)  # nothing comes: it waits
    task.cancel()
    await asyncio.wait({task}, timeout=5)
    assert task.cancelled(), "a cancelled worker ran on"
    assert [c.swallowed for c in bus.consumers] == [1]


async def test_a_late_worker_catches_up_from_the_log(profile: Profile, tmp_path: Path) -> None:
    profile.log.append(records(1, 10))  # published to nobody: no relay ran
    bus = await profile.bus()
    w = worker(profile, bus)
    async with task_of(w.run()):
        await asyncio.wait_for(w.caught_up.wait(), 5)
    assert w.applied == profile.log.head()
    assert w.runner.checksum() == clean_rebuild_checksum(profile, tmp_path)


async def test_a_gap_in_deliveries_is_filled_from_the_log(profile: Profile, tmp_path: Path) -> None:
    bus = await profile.bus()
    applied = await api_view(profile)
    w = worker(profile, bus)
    async with task_of(w.run()):
        await asyncio.wait_for(w.caught_up.wait(), 5)
        profile.log.append(records(1, 5))
        log = profile.log.read(0, 100)
        # Only the last record reaches the bus: the ones before it went missing.
        last, before = log[-1], log[-2]
        await bus.publish([BusRecord.of(last, previous=before.position)])
        await applied.wait_for(last.position, timeout=5)
    assert w.runner.checksum() == clean_rebuild_checksum(profile, tmp_path)
    await applied.close()
