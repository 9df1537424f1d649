"""A push gateway for the tests: an aiohttp server on loopback that records the
``/_matrix/push/v1/notify`` requests it receives (Push Gateway API)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from aiohttp import web

NOTIFY = "/_matrix/push/v1/notify"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TestGateway:
    __test__ = False  # not a pytest class

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        #: Pushkeys to answer as ``rejected``.
        self.reject: set[str] = set()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{NOTIFY}"

    async def _notify(self, request: web.Request) -> web.Response:
        body = await request.json()
        await self.received.put(body)
        keys = [d.get("pushkey") for d in body["notification"]["devices"]]
        return web.json_response({"rejected": [k for k in keys if k in self.reject]})

    async def start(self) -> TestGateway:
        app = web.Application()
        app.router.add_post(NOTIFY, self._notify)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def next(self, timeout: float = 10.0) -> dict[str, Any]:  # noqa: ASYNC109
        notification: dict[str, Any] = (await asyncio.wait_for(self.received.get(), timeout))[
            "notification"
        ]
        return notification
