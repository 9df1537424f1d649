"""Blocking store calls from asyncio, without orphaning them on cancellation.

``asyncio.to_thread`` lets the awaiting task be cancelled while the thread runs
on; the caller may then close the store under that thread (SQLite crashes the
process) or start a second transaction beside the first. ``in_thread`` waits
for the call to finish before the cancellation goes on: a cancelled worker has
either committed its batch or not, and holds nothing.
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
