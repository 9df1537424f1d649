"""Ordered, idempotent publishing to one JetStream stream (the bus's log stream
and the integrations' events stream both publish this way).

Each message carries ``Nats-Msg-Id`` = its log position (the caller's headers)
and, once the stream holds anything, ``Nats-Expected-Last-Msg-Id`` = the
position published before it: JetStream drops a position published twice
within its duplicate window, and refuses a publisher that is behind the stream
(``OutOfStep``, carrying the stream's last position) instead of appending out
of order. A batch is pipelined: every message is sent before the first
acknowledgement is awaited (the server stores them in the order they arrive,
and a message whose predecessor is missing fails its expected-last check).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import Header

from tessera.schema.bus import OutOfStep

#: JetStream's error code for a failed ``Nats-Expected-Last-Msg-Id`` check.
WRONG_LAST_MSG_ID = 10070


@dataclasses.dataclass(frozen=True, slots=True)
class Outgoing:
    subject: str
    payload: bytes
    #: The message's own headers (its ``Nats-Msg-Id`` among them).
    headers: dict[str, str]
    #: The log position published before this one (0: none).
    previous: int


class StreamPublisher:
    def __init__(
        self,
        nc: Client,
        stream: str,
        last_position: Callable[[], Awaitable[int | None]],
        *,
        what: str = "a message",
        timeout: float = 10.0,
    ) -> None:
        self.nc = nc
        self.stream = stream
        #: The position of the stream's last message; None when it is empty.
        self._last_position = last_position
        self._what = what
        self._timeout = timeout
        # Acknowledgements come back on this inbox, one token per message.
        self._inbox = nc.new_inbox()
        self._replies: Subscription | None = None
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._serial = 0
        # Known after the first look at the stream: the first message of an
        # empty stream has no predecessor to expect.
        self._has_messages: bool | None = None

    async def resume_after(self) -> int:
        """The position of the stream's last message (0: empty)."""
        last = await self._last_position()
        self._has_messages = last is not None
        return last or 0

    async def publish(self, messages: Sequence[Outgoing]) -> None:
        if self._has_messages is None:
            await self.resume_after()
        if self._replies is None:
            self._replies = await self.nc.subscribe(self._inbox + ".*", cb=self._on_reply)
        loop = asyncio.get_running_loop()
        waiting: list[asyncio.Future[dict[str, Any]]] = []
        try:
            for message in messages:
                headers = dict(message.headers)
                headers[Header.EXPECTED_STREAM] = self.stream
                if self._has_messages:
                    headers[Header.EXPECTED_LAST_MSG_ID] = str(message.previous)
                self._has_messages = True
                self._serial += 1
                token = str(self._serial)
                self._acks[token] = future = loop.create_future()
                waiting.append(future)
                await self.nc.publish(
                    message.subject,
                    message.payload,
                    reply=f"{self._inbox}.{token}",
                    headers=headers,
                )
            async with asyncio.timeout(self._timeout):
                acks = await asyncio.gather(*waiting)
        except BaseException:
            self._has_messages = None  # look at the stream before the next attempt
            raise
        finally:
            for future in waiting:
                future.cancel()
            self._acks = {t: f for t, f in self._acks.items() if not f.done()}
        for ack in acks:
            error = ack.get("error")
            if error is None:
                continue
            self._has_messages = None
            if error.get("err_code") == WRONG_LAST_MSG_ID:
                raise OutOfStep(await self.resume_after())
            raise RuntimeError(f"JetStream refused {self._what}: {error}")

    async def _on_reply(self, msg: Msg) -> None:
        future = self._acks.get(msg.subject.rpartition(".")[2])
        if future is None or future.done():
            return
        if msg.headers and msg.headers.get("Status") == "503":
            future.set_result({"error": {"description": "no stream answers", "err_code": 503}})
            return
        future.set_result(json.loads(msg.data))

    async def close(self) -> None:
        if self._replies is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._replies.unsubscribe()
            self._replies = None
