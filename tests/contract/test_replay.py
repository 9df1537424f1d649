"""``tessera replay`` and ``tessera checksum`` on both profiles (DESIGN invariant 1)."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tessera.app import cli
from tessera.app.replay import checksums, rebuild
from tessera.projections import worker as worker_module
from tessera.projections.runner import ProjectionRunner
from tessera.projections.worker import ProjectionWorker
from tessera.schema.log import LogRecord
from tessera.schema.readmodel import Change
from tests.contract.busprofile import PROFILES, Profile, Trail, open_profile, records


class Kinds:
    """A second read model: records per kind."""

    name = "kinds"
    tables = ("kinds",)
    migrations = ("CREATE TABLE IF NOT EXISTS kinds (kind TEXT PRIMARY KEY, n BIGINT)",)

    def apply(self, record: LogRecord) -> list[Change]:
        return [
            Change(
                "INSERT INTO kinds (kind, n) VALUES (?, 1)"
                " ON CONFLICT (kind) DO UPDATE SET n = kinds.n + 1",
                (record.kind,),
            )
        ]


@pytest.fixture(params=PROFILES)
async def profile(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Profile]:
    async with open_profile(request.param, tmp_path) as p:
        yield p


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's registry, as if it listed the two test read models."""
    monkeypatch.setattr(
        "tessera.app.replay.all_projections", lambda: [Trail(), Kinds()], raising=True
    )


def build(profile: Profile) -> None:
    for projection in (Trail(), Kinds()):
        runner = ProjectionRunner(profile.db, projection)
        runner.setup()
        runner.process(profile.log.read(0, 10_000))


def run(capsys: pytest.CaptureFixture[str], profile: Profile, *args: str) -> tuple[int, str, str]:
    flags = ["--data-dir", str(profile.data_dir)]
    if profile.database_url:
        flags += ["--database", profile.database_url]
    code = cli.main([*args, *flags])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_rebuild_reproduces_the_read_models_digests(profile: Profile) -> None:
    profile.log.append(records(1, 20))
    build(profile)
    before = checksums(profile.db, [Trail(), Kinds()])
    with profile.db.transaction() as tx:  # damage both read models
        tx.execute("DELETE FROM trails WHERE stream = '!s1:test'")
        tx.execute("UPDATE kinds SET n = n + 1")
    assert checksums(profile.db, [Trail(), Kinds()]) != before
    progress = io.StringIO()
    assert rebuild(profile.log, profile.db, [Trail(), Kinds()], batch=7, progress=progress) == (
        profile.log.head()
    )
    assert checksums(profile.db, [Trail(), Kinds()]) == before
    assert f"{profile.log.head()}/{profile.log.head()} (100.0%)" in progress.getvalue()


@pytest.mark.usefixtures("registry")
def test_replay_then_checksum_on_the_command_line(
    profile: Profile, capsys: pytest.CaptureFixture[str]
) -> None:
    profile.log.append(records(1, 10))
    build(profile)
    code, before, _ = run(capsys, profile, "checksum")
    assert code == 0
    lines = before.splitlines()
    assert [line.split()[0] for line in lines] == ["trail", "kinds"]
    assert all(len(line.split()[1]) == 64 for line in lines)

    code, _, err = run(capsys, profile, "replay")
    assert code == 0
    assert "replay trail,kinds:" in err and "records/s" in err and "ETA" in err
    assert run(capsys, profile, "checksum")[1] == before


@pytest.mark.usefixtures("registry")
def test_replay_of_one_read_model_leaves_the_others_alone(
    profile: Profile, capsys: pytest.CaptureFixture[str]
) -> None:
    profile.log.append(records(1, 5))
    build(profile)
    with profile.db.transaction() as tx:
        tx.execute("DELETE FROM kinds")  # damage: replaying trail must not repair it
        tx.execute("DELETE FROM trails")
    assert run(capsys, profile, "replay", "trail")[0] == 0
    after = dict(line.split() for line in run(capsys, profile, "checksum")[1].splitlines())
    assert after["kinds"] == checksums(profile.db, [Kinds()])["kinds"]
    assert list(profile.db.iter_rows("SELECT * FROM kinds")) == []
    assert len(list(profile.db.iter_rows("SELECT * FROM trails"))) == 3


@pytest.mark.usefixtures("registry")
def test_an_unknown_read_model_is_refused(
    profile: Profile, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, profile, "replay", "nope")
    assert code == 2
    assert "unknown read model nope (known: kinds, trail)" in err


def replay_could_start(profile: Profile) -> bool:
    lease = profile.db.workers_lock(exclusive=True)
    if lease is None:
        return False
    lease.release()
    return True


@pytest.mark.usefixtures("registry")
async def test_replay_refuses_to_run_beside_a_projection_worker(
    profile: Profile, capsys: pytest.CaptureFixture[str]
) -> None:
    profile.log.append(records(1, 10))
    build(profile)
    code, before, _ = run(capsys, profile, "checksum")
    running = asyncio.create_task(
        ProjectionWorker(
            ProjectionRunner(profile.db, Trail()), await profile.bus(), profile.log
        ).run()
    )
    async with asyncio.timeout(10):  # until the worker holds its lock
        while replay_could_start(profile):  # noqa: ASYNC110 (another thread takes it)
            await asyncio.sleep(0.01)
    code, _, err = run(capsys, profile, "replay")
    assert code == 1
    assert "projection workers are running" in err
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    assert run(capsys, profile, "checksum")[1] == before, "nothing was touched"
    code, _, _ = run(capsys, profile, "replay")
    assert code == 0


async def test_a_worker_started_during_a_replay_waits_for_it(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_module, "LEASE_POLL", 0.05)
    profile.log.append(records(1, 5))
    replay = profile.db.workers_lock(exclusive=True)
    assert replay is not None
    worker = ProjectionWorker(
        ProjectionRunner(profile.db, Trail()), await profile.bus(), profile.log
    )
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0.5)
        assert not worker.caught_up.is_set(), "it applied something during the replay"
        replay.release()
        await asyncio.wait_for(worker.caught_up.wait(), 10)
        assert ProjectionRunner(profile.db, Trail()).position() == profile.log.head()
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    assert replay_could_start(profile), "a stopped worker lets go of its lock"
