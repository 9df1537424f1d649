"""Starting the push sender in a process (the ``projections`` role)."""

from __future__ import annotations

import asyncio
import contextlib

from tessera.app.services import Services

from .gateway import HttpGateway
from .sender import PushSender


def start_push_sender(services: Services) -> PushSender:
    gateway = HttpGateway(services.config.ip_range_whitelist)
    sender = PushSender(
        services.readdb, services.applied, gateway, services.pushers.remove, clock=services.clock
    )
    task = asyncio.ensure_future(sender.run())
    task.set_name("push-sender")

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await gateway.close()

    services.closers.append(stop)
    return sender
