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
from collections.abc import Callable
from typing import ParamSpec, TypeVar

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
