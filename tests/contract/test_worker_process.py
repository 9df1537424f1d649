"""The strongest form of invariant 4: a worker *process* killed with SIGKILL mid-stream.

Scale profile: the projection worker runs as ``python -m tessera.app.pipeline``
on PostgreSQL and NATS JetStream, is killed without warning three times while
records keep arriving, and is restarted; the read model must equal a clean
rebuild from the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tessera.app.applied import AppliedPositions
from tessera.command.group_commit import GroupCommitter
from tessera.projections.relay import Relay, commit_signal
from tessera.projections.runner import ProjectionRunner
from tests.conftest import REPO
from tests.contract.busprofile import Profile, Trail, clean_rebuild_checksum, open_profile, records
from tests.contract.test_group import checksums, clean_rebuild, make_others
from tests.services import NATS_URL


@pytest.fixture
async def profile(tmp_path: Path) -> AsyncIterator[Profile]:
    async with open_profile("scale", tmp_path) as p:
        yield p


#: What the worker process runs: one projection alone, or two as a group (one
#: transaction per batch for both, one durable consumer).
WORKERS = {
    "alone": ["tests.contract.busprofile:make_trail"],
    "group": [
        "tests.contract.busprofile:make_trail",
        "tests.contract.test_group:make_others",
        "--group",
        "pair",
    ],
}


def spawn_worker(profile: Profile, worker: list[str]) -> subprocess.Popen[bytes]:
    assert profile.database_url is not None
    command = [
        sys.executable,
        "-m",
        "tessera.app.pipeline",
        *worker,
        "--database",
        profile.database_url,
        "--nats",
        NATS_URL,
        "--nats-root",
        profile.nats_root,
        "--nats-stream",
        profile.nats_stream,
        "--batch",
        "5",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.DEVNULL)


@pytest.mark.parametrize("kind", WORKERS)
async def test_a_worker_process_killed_mid_stream_loses_and_repeats_nothing(
    profile: Profile, tmp_path: Path, kind: str
) -> None:
    names = ["trail", "others"] if kind == "group" else ["trail"]
    bus = await profile.bus()
    applied = await AppliedPositions.start(await profile.bus(), profile.db, names)
    committer = GroupCommitter(profile.log, on_commit=commit_signal(bus))
    relay = asyncio.create_task(Relay(profile.log, bus, fallback_interval=0.2).run())

    enough = asyncio.Event()
    version = 1

    async def write() -> None:  # records keep arriving until the kills are done
        nonlocal version
        while not enough.is_set():
            await committer.append(records(version, 1))
            version += 1
            await asyncio.sleep(0.01)

    writer = asyncio.create_task(write())
    kills = 0
    killed_at: list[int] = []
    try:
        for _ in range(3):
            process = spawn_worker(profile, WORKERS[kind])
            try:
                # Let it apply something new, then kill it without warning.
                await applied.changed_after(applied.current(), 20)
                await asyncio.sleep(0.05 * kills)
            finally:
                process.send_signal(signal.SIGKILL)
                process.wait()
            assert process.returncode == -signal.SIGKILL
            kills += 1
            killed_at.append(applied.current())
            assert not writer.done()  # mid-stream: records were still arriving
        enough.set()
        await writer
        process = spawn_worker(profile, WORKERS[kind])
        try:
            # One record only this worker can apply: once it has, it is past
            # installing its SIGTERM handler (the killed one may have applied
            # everything else already, and a SIGTERM during start-up kills).
            await committer.append(records(version, 1))
            await applied.wait_for(profile.log.head(), timeout=30)
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0  # a clean stop on SIGTERM
    finally:
        writer.cancel()
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay
        await applied.close()
    print("killed at applied positions", killed_at, "of", profile.log.head())
    assert 0 < killed_at[0] < profile.log.head()
    runner = ProjectionRunner(profile.db, Trail())
    assert runner.position() == profile.log.head()
    assert runner.checksum() == clean_rebuild_checksum(profile, tmp_path)
    if kind == "group":
        others = make_others()
        assert ProjectionRunner(profile.db, others).position() == profile.log.head()
        assert checksums(profile, [others]) == clean_rebuild(profile, tmp_path, [others])
