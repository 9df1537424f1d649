"""Applied positions as API processes see them, woken by the bus on both profiles."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tessera.app.applied import AppliedPositions
from tessera.projections.runner import ProjectionRunner
from tessera.schema.bus import applied_topic, encode_applied
from tests.contract.busprofile import PROFILES, Profile, Trail, open_profile, records


@pytest.fixture(params=PROFILES)
async def profile(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Profile]:
    async with open_profile(request.param, tmp_path) as p:
        yield p


async def test_wait_for_wakes_when_every_projection_has_applied(profile: Profile) -> None:
    worker_bus = await profile.bus()
    api = await AppliedPositions.start(await profile.bus(), profile.db, ["alpha", "beta"])
    waiting = asyncio.create_task(api.wait_for(10, timeout=30))
    await worker_bus.signal(applied_topic("alpha"), b"12")
    await asyncio.sleep(0.3)
    assert not waiting.done()  # beta has not applied 10 yet
    assert api.current() == 0  # so no sync token may name a position beyond 0
    started = time.monotonic()
    await worker_bus.signal(applied_topic("beta"), b"10")
    assert await waiting == 10
    assert time.monotonic() - started < 1.0  # woken by the signal, not a timer
    assert api.applied("alpha") == 12
    await api.close()


async def test_wait_for_one_named_projection(profile: Profile) -> None:
    worker_bus = await profile.bus()
    api = await AppliedPositions.start(await profile.bus(), profile.db, ["alpha", "beta"])
    waiting = asyncio.create_task(api.wait_for(5, projections=["alpha"], timeout=30))
    await worker_bus.signal(applied_topic("alpha"), b"5")
    async with asyncio.timeout(2):
        await waiting
    await api.close()


async def test_changed_after_wakes_on_new_positions_and_times_out_otherwise(
    profile: Profile,
) -> None:
    worker_bus = await profile.bus()
    api = await AppliedPositions.start(await profile.bus(), profile.db, ["alpha"])
    started = time.monotonic()
    assert await api.changed_after(0, 0.3) == 0  # nothing new: the whole wait
    assert time.monotonic() - started >= 0.3
    poll = asyncio.create_task(api.changed_after(0, 30))
    started = time.monotonic()
    await worker_bus.signal(applied_topic("alpha"), b"3")
    assert await poll == 3
    assert time.monotonic() - started < 1.0
    assert await api.changed_after(2, 30) == 3  # already past: at once
    await api.close()


async def test_an_ephemeral_poke_wakes_the_long_polls_on_its_key_only(profile: Profile) -> None:
    typing_side = await AppliedPositions.start(await profile.bus(), profile.db, ["alpha"])
    api = await AppliedPositions.start(await profile.bus(), profile.db, ["alpha"])
    on_a = asyncio.create_task(api.changed_after(0, 30, keys={"!a:test"}))
    on_b = asyncio.create_task(api.changed_after(0, 1.0, keys={"!b:test"}))
    await asyncio.sleep(0.1)  # both waiting
    started = time.monotonic()
    await typing_side.notify_ephemeral("!a:test")
    assert await on_a == 0
    assert time.monotonic() - started < 1.0
    assert not on_b.done()
    assert await on_b == 0  # it ran to its timeout
    assert time.monotonic() - started >= 0.8
    await api.close()
    await typing_side.close()


async def test_a_lost_signal_does_not_fail_a_visible_write(profile: Profile) -> None:
    api = await AppliedPositions.start(await profile.bus(), profile.db, ["trail"])
    positions = profile.log.append(records(1, 2))
    runner = ProjectionRunner(profile.db, Trail())
    runner.setup()
    runner.process(profile.log.read(0, 100))  # applied, but nobody signalled it
    assert await api.wait_for(positions[-1], timeout=0.2) == positions[-1]
    # What it wrote meanwhile is unknown: caches keyed on ``changed`` must reload.
    assert api.changed("trail") == positions[-1]
    with pytest.raises(TimeoutError):
        await api.wait_for(positions[-1] + 1, timeout=0.2)
    await api.close()


async def test_starts_from_the_tracking_table(profile: Profile) -> None:
    profile.log.append(records(1, 2))
    runner = ProjectionRunner(profile.db, Trail())
    runner.setup()
    head = runner.process(profile.log.read(0, 100))
    api = await AppliedPositions.start(await profile.bus(), profile.db, ["trail"])
    assert api.current() == head
    await api.close()


async def test_a_group_signal_moves_every_member_and_changed_only_those_that_wrote(
    profile: Profile,
) -> None:
    worker_bus = await profile.bus()
    api = await AppliedPositions.start(await profile.bus(), profile.db, ["alpha", "beta"])
    assert (api.changed("alpha"), api.changed("beta")) == (0, 0)
    await worker_bus.signal(applied_topic("group"), encode_applied(5, ["alpha", "beta"], ["alpha"]))
    assert await api.wait_for(5, timeout=5) == 5
    assert (api.changed("alpha"), api.changed("beta")) == (5, 0)
    await worker_bus.signal(applied_topic("group"), encode_applied(9, ["alpha", "beta"]))
    assert await api.wait_for(9, timeout=5) == 9
    assert (api.changed("alpha"), api.changed("beta")) == (5, 0)  # moved, wrote nothing
    await api.close()
