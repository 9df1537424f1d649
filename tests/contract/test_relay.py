"""The relay on both profiles: the log's order, published exactly once, woken by commits."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tessera.command.group_commit import GroupCommitter
from tessera.projections.relay import Relay, commit_signal
from tessera.schema.bus import BusRecord, RecordConsumer
from tessera.schema.log import EventStore, LogRecord
from tests.contract.busprofile import PROFILES, Profile, open_profile, records


@pytest.fixture(params=PROFILES)
async def profile(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Profile]:
    async with open_profile(request.param, tmp_path) as p:
        yield p


@contextlib.asynccontextmanager
async def running(relay: Relay) -> AsyncIterator[Relay]:
    task = asyncio.create_task(relay.run())
    try:
        async with asyncio.timeout(5):
            await relay.started.wait()
        yield relay
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def receive_until(consumer: RecordConsumer, position: int) -> list[BusRecord]:
    """What the consumer gets until ``position`` arrives (fails after 10 s)."""
    got: list[BusRecord] = []
    async with asyncio.timeout(10):
        while not got or got[-1].position < position:
            got.extend(await consumer.fetch(100, 1.0))
            await consumer.ack()
    return got


def assert_is_the_log(profile: Profile, got: list[BusRecord]) -> None:
    log = profile.log.read(0, 100_000)
    assert [r.position for r in got] == [r.position for r in log]
    assert [r.previous for r in got] == [0] + [r.position for r in log[:-1]]
    assert [(r.stream, r.version, r.kind, r.payload) for r in got] == [
        (r.stream, r.version, r.kind, r.payload) for r in log
    ]


async def test_publishes_the_log_in_order_exactly_once(profile: Profile) -> None:
    bus = await profile.bus()
    consumer = await bus.consumer("trail")
    committer = GroupCommitter(profile.log, on_commit=commit_signal(bus))
    async with running(Relay(profile.log, bus, batch=7, fallback_interval=30)):
        for v in range(1, 30, 4):  # concurrent writers, one commit per wave
            await asyncio.gather(*(committer.append([r]) for r in records(v, 4)))
        got = await receive_until(consumer, profile.log.head())
    assert_is_the_log(profile, got)
    assert len(got) == 3 * 32


async def test_two_relays_still_publish_each_record_once(profile: Profile) -> None:
    bus_a, bus_b = await profile.bus(), await profile.bus()
    consumer = await bus_a.consumer("trail")
    committer = GroupCommitter(profile.log, on_commit=commit_signal(bus_a))
    async with (
        running(Relay(profile.log, bus_a, batch=5, fallback_interval=0.05)),
        running(Relay(profile.log, bus_b, batch=3, fallback_interval=0.05)),
    ):
        for v in range(1, 20):
            await committer.append(records(v, 1))
        got = await receive_until(consumer, profile.log.head())
    assert_is_the_log(profile, got)


async def test_a_commit_wakes_the_relay_at_once(profile: Profile) -> None:
    """The fallback timer is 60 s: only the commit signal, sent by another
    connection as a separate API process would, can explain a prompt delivery."""
    relay_bus, api_bus = await profile.bus(), await profile.bus()
    consumer = await relay_bus.consumer("trail")
    committer = GroupCommitter(profile.log, on_commit=commit_signal(api_bus))
    async with running(Relay(profile.log, relay_bus, fallback_interval=60)):
        for v in range(1, 4):
            started = time.monotonic()
            [position] = await committer.append(records(v, 1, streams=1))
            got = await receive_until(consumer, position)
            assert got[-1].position == position
            assert time.monotonic() - started < 2.0


async def test_a_restarted_relay_resumes_without_gaps_or_repeats(profile: Profile) -> None:
    bus = await profile.bus()
    consumer = await bus.consumer("trail")
    async with running(Relay(profile.log, bus, fallback_interval=0.05)):
        profile.log.append(records(1, 3))
        await receive_until(consumer, profile.log.head())
    profile.log.append(records(4, 3))  # committed while no relay runs
    restarted_bus = await profile.bus()  # scale: a new process, a new connection
    async with running(Relay(profile.log, restarted_bus, fallback_interval=0.05)):
        first = await receive_until(consumer, profile.log.head())
        assert await consumer.fetch(100, 0.3) == []  # and nothing twice
    positions = [r.position for r in profile.log.read(0, 1000)]
    assert [r.position for r in first] == positions[9:]


class CountingLog:
    """The profile's log, counting the relay's reads."""

    def __init__(self, log: EventStore) -> None:
        self._log = log
        self.reads = 0

    def read(self, after: int, limit: int) -> list[LogRecord]:
        self.reads += 1
        return self._log.read(after, limit)

    def __getattr__(self, name: str) -> object:
        return getattr(self._log, name)


async def test_this_process_commits_are_published_without_reading_the_log(
    profile: Profile,
) -> None:
    bus = await profile.bus()
    consumer = await bus.consumer("trail")
    log = CountingLog(profile.log)
    committer = GroupCommitter(profile.log)  # no commit signal: only the offers wake it
    relay = Relay(log, bus, fallback_interval=60)  # type: ignore[arg-type]
    committer.observers.append(relay.offer)
    async with running(relay):
        for v in range(1, 12, 2):
            await asyncio.gather(*(committer.append([r]) for r in records(v, 2)))
        got = await receive_until(consumer, profile.log.head())
    assert_is_the_log(profile, got)
    assert log.reads == 1  # the one look at start, for what was committed before it ran


async def test_commits_of_another_process_in_between_are_read_from_the_log(
    profile: Profile,
) -> None:
    bus = await profile.bus()
    consumer = await bus.consumer("trail")
    committer = GroupCommitter(profile.log)
    relay = Relay(profile.log, bus, fallback_interval=60)
    committer.observers.append(relay.offer)
    async with running(relay):
        for v in range(1, 12, 2):
            await committer.append(records(v, 1))
            profile.log.append(records(v + 1, 1))  # elsewhere: no offer, no signal
        await committer.append(records(13, 1))
        got = await receive_until(consumer, profile.log.head())
    assert_is_the_log(profile, got)
