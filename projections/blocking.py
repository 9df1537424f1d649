"""Blocking store calls from asyncio, without orphaning them on cancellation.

``asyncio.to_thread`` lets the awaiting task be cancelled while the thread runs
on; the caller may then close the store under that thread (SQLite crashes the
process) or start a second transaction beside the first. ``in_thread`` waits
for the call to finish before the cancellation goes on: a cancelled worker has
either committed its batch or not, and holds nothing.

``stop_if_cancelled`` is for loops that run until cancelled: on Python 3.11
``asyncio.wait_for`` swallows a cancellation that arrives in the loop iteration
where the awaited future completes (CPython gh-86296, fixed in 3.12), and
libraries built on it (nats-py's ``next_msg`` and ``request``) then return
normally to a task that was asked to stop. The task still counts the request
(``Task.cancelling()``), so a loop that checks it at each step stops there
instead of running on forever and hanging whoever awaits it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import NoReturn, ParamSpec, TypeVar

_log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


async def in_thread(function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    call = asyncio.ensure_future(asyncio.to_thread(function, *args, **kwargs))
    try:
        return await asyncio.shield(call)
    except asyncio.CancelledError:
        with contextlib.suppress(BaseException):
            await call
        raise


def stop_if_cancelled() -> None:
    """Raise ``CancelledError`` if this task was cancelled and something swallowed it."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def run_restarting(
    run_once: Callable[[], Awaitable[None]], retry: float, failed: str
) -> NoReturn:
    """Run ``run_once`` again and again until cancelled; after a failure, log
    ``failed`` with the traceback and pause ``retry`` seconds first (background
    loops that must not die of a database or bus error)."""
    while True:
        try:
            await run_once()
        except Exception:
            stop_if_cancelled()  # a cancellation a library turned into an error
            _log.exception("%s", failed)
            await asyncio.sleep(retry)
