"""Projection groups on both profiles: one transaction per batch for several
projections, each still exactly once in effect (DESIGN invariant 4)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from tessera.app.applied import AppliedPositions
from tessera.app.pipeline import group_name
from tessera.app.readdb import SQLiteReadModels
from tessera.command.group_commit import GroupCommitter
from tessera.projections.group import ALL, ProjectionGroup
from tessera.projections.relay import Relay, commit_signal
from tessera.projections.runner import Projection, ProjectionRunner
from tessera.projections.worker import ProjectionWorker
from tessera.schema.bus import APPLIED_PREFIX, decode_applied
from tessera.schema.log import LogRecord
from tessera.schema.readmodel import Change
from tests.contract.busprofile import PROFILES, Profile, open_profile, records


class Ledger:
    """Order- and duplicate-sensitive, like ``Trail``, under a name of its own;
    ``kind`` picks the records it writes for (the others it only tracks)."""

    def __init__(self, name: str, kind: str = "count", fail_at: int | None = None) -> None:
        self.name = name
        self.kind = kind
        self.fail_at = fail_at
        self.table = f"ledger_{name}"
        self.tables = (self.table,)
        self.migrations = (
            f"CREATE TABLE IF NOT EXISTS {self.table}"
            " (stream TEXT PRIMARY KEY, n BIGINT, trail TEXT)",
        )

    def apply(self, record: LogRecord) -> list[Change]:
        if record.position == self.fail_at:
            self.fail_at = None
            raise RuntimeError("worker killed mid-batch")
        if record.kind != self.kind:
            return []
        return [
            Change(
                f"INSERT INTO {self.table} (stream, n, trail) VALUES (?, 1, ?)"
                f" ON CONFLICT (stream) DO UPDATE SET n = {self.table}.n + 1,"
                f" trail = {self.table}.trail || ',' || excluded.trail",
                (record.stream, str(record.position)),
            )
        ]


def make_others() -> Ledger:
    """A factory a worker subprocess loads (``tests.contract.test_group:make_others``)."""
    return Ledger("others", kind="other")


def members(fail_at: int | None = None) -> list[Ledger]:
    return [
        Ledger("counts"),
        Ledger("others", kind="other", fail_at=fail_at),
        Ledger("never", kind="no such kind"),  # writes nothing, only tracks
    ]


@pytest.fixture(params=PROFILES)
async def profile(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Profile]:
    async with open_profile(request.param, tmp_path) as p:
        yield p


@contextlib.asynccontextmanager
async def running(*coroutines: object) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(c) for c in coroutines]  # type: ignore[call-overload]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def checksums(profile: Profile, projections: Sequence[Projection]) -> dict[str, str]:
    return {p.name: ProjectionRunner(profile.db, p).checksum() for p in projections}


def clean_rebuild(
    profile: Profile, tmp_path: Path, projections: Sequence[Projection]
) -> dict[str, str]:
    """Each projection built alone from the whole log, in a scratch store."""
    scratch = SQLiteReadModels(str(tmp_path / f"scratch-{uuid.uuid4().hex[:6]}.db"))
    try:
        digests = {}
        for projection in projections:
            runner = ProjectionRunner(scratch, projection)
            runner.setup()
            position = 0
            while page := profile.log.read(position, 1000):
                runner.process(page)
                position = page[-1].position
            digests[projection.name] = runner.checksum()
        return digests
    finally:
        scratch.close()


def group_worker(
    profile: Profile, bus: object, projections: Sequence[Projection]
) -> ProjectionWorker:
    group = ProjectionGroup(profile.db, projections, name="ledgers")
    return ProjectionWorker(group, bus, profile.log, batch=7, retry_interval=0.05)  # type: ignore[arg-type]


def test_one_batch_moves_every_members_position_and_redelivery_changes_nothing(
    profile: Profile,
) -> None:
    profile.log.append(records(1, 5))
    log = profile.log.read(0, 100)
    group = ProjectionGroup(profile.db, members(), name="ledgers")
    group.setup()
    done = group.process(log[:9])
    assert done.positions == dict.fromkeys(group.names, log[8].position)
    # Versions 1..3 of three streams: "count" records only (every fifth is "other").
    assert done.changed == {"counts"}
    before = checksums(profile, group.projections)
    again = group.process(log[:9])  # redelivered
    assert again.changed == frozenset()
    assert checksums(profile, group.projections) == before
    done = group.process(log[5:])  # overlapping: only the new part is applied
    assert done.changed == {"counts", "others"}
    assert group.positions() == dict.fromkeys(group.names, log[-1].position)


async def test_a_crash_mid_group_batch_leaves_every_projection_equal_to_a_clean_rebuild(
    profile: Profile, tmp_path: Path
) -> None:
    bus = await profile.bus()
    api = await AppliedPositions.start(await profile.bus(), profile.db, [p.name for p in members()])
    profile.log.append(records(1, 4))
    # "others" dies mid-batch, after "counts" executed its changes in the same transaction.
    crashing = members(fail_at=profile.log.read(0, 100)[8].position)
    w = group_worker(profile, bus, crashing)
    committer = GroupCommitter(profile.log, on_commit=commit_signal(bus))
    relay = Relay(profile.log, bus, fallback_interval=0.05)
    async with running(w.run(), relay.run()):
        for v in range(5, 12):
            await committer.append(records(v, 1))
        await api.wait_for(profile.log.head(), timeout=10)
    assert crashing[1].fail_at is None  # it did die once
    assert checksums(profile, crashing) == clean_rebuild(profile, tmp_path, members())
    await api.close()


async def test_a_projection_added_to_a_group_later_catches_up_from_zero(
    profile: Profile, tmp_path: Path
) -> None:
    bus = await profile.bus()
    profile.log.append(records(1, 6))
    first = group_worker(profile, bus, members()[:1])
    async with running(first.run()):
        await asyncio.wait_for(first.caught_up.wait(), 5)
    head = profile.log.head()
    profile.log.append(records(7, 2))
    grown = group_worker(profile, await profile.bus(), members())  # two new members
    assert grown.group.positions() == {"counts": head, "others": 0, "never": 0}
    async with running(grown.run()):
        await asyncio.wait_for(grown.caught_up.wait(), 5)
    assert grown.group.positions() == dict.fromkeys(grown.group.names, profile.log.head())
    assert checksums(profile, members()) == clean_rebuild(profile, tmp_path, members())


async def test_one_signal_per_batch_names_every_member_and_those_that_changed(
    profile: Profile,
) -> None:
    bus, listener = await profile.bus(), await profile.bus()
    heard: list[tuple[str, bytes]] = []
    unlisten = await listener.listen(APPLIED_PREFIX + ">", lambda t, b: heard.append((t, b)))
    api = await AppliedPositions.start(listener, profile.db, [p.name for p in members()])
    w = group_worker(profile, bus, members())
    async with running(w.run(), Relay(profile.log, bus, fallback_interval=0.05).run()):
        await asyncio.wait_for(w.caught_up.wait(), 5)
        [position] = profile.log.append([records(1, 1, streams=1)[0]])  # a "count" record
        await api.wait_for(position, timeout=10)
    await unlisten()
    await api.close()
    decoded = [decode_applied(topic, body) for topic, body in heard]
    assert {topic for topic, _ in heard} == {"applied.ledgers"}
    assert all(d.names == ("counts", "others", "never") for d in decoded)
    changed = [d for d in decoded if d.changed]
    assert [(d.position, d.changed) for d in changed] == [(position, {"counts"})]


def test_a_worker_process_names_its_group() -> None:
    assert group_name(members()[:1], every=False, given=None) == "counts"  # a group of one
    assert group_name(members(), every=True, given=None) == ALL
    assert group_name(members(), every=False, given="ledgers") == "ledgers"
    with pytest.raises(SystemExit):  # two processes would share one consumer
        group_name(members(), every=False, given=None)
