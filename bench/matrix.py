"""A minimal Matrix client for the benchmark: just the calls the scenarios make.

Each ``BenchClient`` owns one aiohttp session limited to one connection, so a
scenario that says "on one connection" really reuses one keep-alive socket.
Bodies go through orjson so the client spends as little CPU as it can on the
machine it shares with the server.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson

CLIENT = "/_matrix/client/v3"


class MatrixHTTPError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, body: bytes) -> None:
        super().__init__(f"{method} {path} answered {status}: {body[:300]!r}")
        self.status = status
        self.body = body


class BenchClient:
    def __init__(self, base_url: str, *, connections: int = 1) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections, force_close=False),
            timeout=aiohttp.ClientTimeout(total=120),
        )
        self.user_id = ""
        self.token = ""
        self._txn = itertools.count()

    async def close(self) -> None:
        await self.session.close()

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None if body is None else orjson.dumps(body)
        async with self.session.request(
            method, self.base_url + path, data=data, headers=headers, params=params
        ) as resp:
            raw = await resp.read()
            if resp.status not in ok:
                raise MatrixHTTPError(method, path, resp.status, raw)
            return resp.status, orjson.loads(raw) if raw else None

    async def register(self, localpart: str, password: str = "bench-password-1") -> None:
        """Register through user-interactive auth with ``m.login.dummy``."""
        body: dict[str, Any] = {"username": localpart, "password": password}
        status, answer = await self.request("POST", f"{CLIENT}/register", body, ok=(200, 401))
        if status == 401:
            body["auth"] = {"type": "m.login.dummy", "session": answer.get("session")}
            _, answer = await self.request("POST", f"{CLIENT}/register", body)
        self.user_id = answer["user_id"]
        self.token = answer["access_token"]

    async def create_room(self, **options: Any) -> str:
        _, answer = await self.request("POST", f"{CLIENT}/createRoom", options)
        return str(answer["room_id"])

    async def join(self, room_id: str) -> None:
        await self.request("POST", f"{CLIENT}/join/{quote(room_id)}", {})

    async def send(self, room_id: str, content: dict[str, Any]) -> str:
        txn = f"{next(self._txn)}-{uuid.uuid4().hex[:8]}"
        path = f"{CLIENT}/rooms/{quote(room_id)}/send/m.room.message/{txn}"
        _, answer = await self.request("PUT", path, content)
        return str(answer["event_id"])

    async def event(self, room_id: str, event_id: str) -> dict[str, Any]:
        """GET /rooms/{roomId}/event/{eventId}: answers once the read models have it."""
        _, answer = await self.request(
            "GET", f"{CLIENT}/rooms/{quote(room_id)}/event/{quote(event_id)}"
        )
        return dict(answer)

    async def sync(
        self, *, since: str | None = None, timeout_ms: int = 0, filter_json: Any = None
    ) -> dict[str, Any]:
        params = {"timeout": str(timeout_ms)}
        if since is not None:
            params["since"] = since
        if filter_json is not None:
            params["filter"] = orjson.dumps(filter_json).decode()
        _, answer = await self.request("GET", f"{CLIENT}/sync", params=params)
        return dict(answer)


def text(body: str, **extra: Any) -> dict[str, Any]:
    """An ``m.text`` message content."""
    return {"msgtype": "m.text", "body": body, **extra}
