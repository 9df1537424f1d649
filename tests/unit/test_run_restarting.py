"""run_restarting: background loops restart after a failure and stop when cancelled."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tessera.projections.blocking import run_restarting


async def test_a_failure_is_logged_and_the_loop_starts_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0
    third = asyncio.Event()

    async def run_once() -> None:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise RuntimeError(f"failure {calls}")
        third.set()
        await asyncio.sleep(3600)

    with caplog.at_level(logging.ERROR):
        task = asyncio.create_task(run_restarting(run_once, 0.01, "demo failed; again"))
        await asyncio.wait_for(third.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert calls == 3
    failures = [r for r in caplog.records if r.getMessage() == "demo failed; again"]
    assert len(failures) == 2 and all(r.exc_info for r in failures)


async def test_a_cancellation_turned_into_an_error_still_stops_it() -> None:
    started = asyncio.Event()
    calls = 0

    async def run_once() -> None:
        nonlocal calls
        calls += 1
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise RuntimeError("a library's idea of a cancellation") from None

    task = asyncio.create_task(run_restarting(run_once, 0.01, "demo failed"))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert calls == 1
