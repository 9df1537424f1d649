"""``POST /_matrix/push/v1/notify`` to a gateway, through the outbound guard
(``tessera.app.outbound``): a gateway that resolves to a private or loopback
address is refused where the connection is made, unless ``ip_range_whitelist``
covers it."""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import aiohttp
import orjson

from tessera.app.outbound import AddressPolicy, OutboundClient

USER_AGENT = "Tessera (Matrix homeserver; push)"
MAX_RESPONSE = 64 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class GatewayAnswer:
    #: The gateway accepted the request (HTTP 200).
    ok: bool
    #: Pushkeys the gateway says are invalid: their pushers must go.
    rejected: tuple[str, ...] = ()
    error: str | None = None


class Gateway(Protocol):
    async def notify(self, url: str, body: dict[str, Any]) -> GatewayAnswer: ...

    async def close(self) -> None: ...


class HttpGateway:
    def __init__(self, whitelist: tuple[str, ...] = (), timeout_s: float = 10.0) -> None:
        self._client = OutboundClient(
            AddressPolicy(whitelist), timeout_s=timeout_s, user_agent=USER_AGENT
        )

    async def notify(self, url: str, body: dict[str, Any]) -> GatewayAnswer:
        try:
            async with self._client.session().post(
                url,
                data=orjson.dumps(body),
                headers={"Content-Type": "application/json"},
                allow_redirects=False,
            ) as response:
                text = await response.content.read(MAX_RESPONSE)
                if response.status != 200:
                    return GatewayAnswer(False, error=f"HTTP {response.status}")
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            return GatewayAnswer(False, error=f"{type(e).__name__}: {e}")
        try:
            answer = orjson.loads(text)
        except orjson.JSONDecodeError:
            return GatewayAnswer(True)
        rejected = answer.get("rejected") if isinstance(answer, dict) else None
        if not isinstance(rejected, list):
            return GatewayAnswer(True)
        return GatewayAnswer(True, tuple(k for k in rejected if isinstance(k, str)))

    async def close(self) -> None:
        await self._client.close()
