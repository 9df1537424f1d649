"""``PUT /sendToDevice/{eventType}/{txnId}`` and the acknowledgement a sync makes."""

from __future__ import annotations

import asyncio

from aiohttp import web

from tessera.app.http.context import require_auth, services
from tessera.app.http.json import json_body, json_response
from tessera.app.services import Services
from tessera.command.to_device import check_messages
from tessera.query.accounts import list_devices

from .keys import key_errors, route, settle

routes = web.RouteTableDef()


@route(routes, "PUT", "/sendToDevice/{eventType}/{txnId}")
async def send_to_device(request: web.Request) -> web.Response:
    """PUT /_matrix/client/v3/sendToDevice/{eventType}/{txnId}"""
    svc = services(request)
    requester = require_auth(request)
    body = await json_body(request)
    event_type, txn_id = request.match_info["eventType"], request.match_info["txnId"]
    with key_errors():
        messages = check_messages(body)
        local = {u: m for u, m in messages.items() if u.endswith(":" + svc.server_name)}
        known = await asyncio.to_thread(
            lambda: {u: [d.device_id for d in list_devices(svc.readdb, u)] for u in local}
        )
        positions = await svc.e2ee.to_device.send(
            requester.user_id,
            requester.device_id,
            event_type=event_type,
            txn_id=txn_id,
            messages=local,
            devices_of=lambda user_id: known.get(user_id, []),
        )
    await settle(svc, positions)
    return json_response({})


def _has_pending(svc: Services, user_id: str, device_id: str, upto: int) -> bool:
    for _ in svc.readdb.iter_rows(
        "SELECT 1 FROM to_device_inbox WHERE user_id = ? AND device_id = ? AND position <= ?"
        " LIMIT 1",
        (user_id, device_id, upto),
    ):
        return True
    return False


async def acknowledge_to_device(svc: Services, user_id: str, device_id: str, since: int) -> None:
    """A sync from ``s<since>`` proves the device received every to-device message
    up to ``since`` (they were in the response that handed out that token): record
    it, so they are deleted and never delivered again. Capped at what this
    process's projections applied: a token from the future acknowledges nothing
    that was not delivered yet."""
    upto = min(since, svc.applied.current())
    if upto > 0 and await asyncio.to_thread(_has_pending, svc, user_id, device_id, upto):
        positions = await svc.e2ee.to_device.acknowledge(user_id, device_id, upto)
        if positions:  # the response below must not hand out what was just acknowledged
            await svc.applied.wait_for(max(positions))
