"""Sending events, setting state and redacting (``tessera.command.send``,
``tessera.command.state``, ``tessera.command.redact``)."""

from __future__ import annotations

from aiohttp import web

from tessera.app.http.context import Requester, require_auth, services
from tessera.app.http.errors import MatrixError
from tessera.app.http.json import json_body, json_response
from tessera.app.read_barrier import no_read_barrier
from tessera.app.services import Services
from tessera.command.redact import redact
from tessera.command.send import send_message
from tessera.command.state import set_state

from .rooms_write_common import PREFIX, optional_str, room_deps, room_errors, settle

routes = web.RouteTableDef()

# Sending is limited per sender only: the sender is authenticated and accountable,
# while an IP bucket would make every user behind one NAT or reverse proxy share
# one budget (the TCP peer is all the server trusts; see docs/operators.md).


@routes.put(PREFIX + "/rooms/{roomId}/send/{eventType}/{txnId}")
@no_read_barrier
async def put_send(request: web.Request) -> web.Response:
    """PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}

    The one write that answers once committed, before the projections have
    applied it: the next request's read barrier waits for them instead
    (``tessera.app.read_barrier``). A redaction sent here looks its target up
    in a read model, so it takes the barrier and settles like ``/redact``."""
    svc = services(request)
    redaction = request.match_info["eventType"] == "m.room.redaction"
    if redaction:
        await svc.barrier.wait()
    requester = await _send_requester(request, svc)
    svc.ratelimiter.check("message", requester.user_id)
    content = await json_body(request, allow_empty=True)
    with room_errors():
        event_id, positions = await send_message(
            room_deps(request),
            sender=requester.user_id,
            device_id=requester.device_id,
            room_id=request.match_info["roomId"],
            event_type=request.match_info["eventType"],
            txn_id=request.match_info["txnId"],
            content=content,
        )
    if redaction:
        await settle(svc, positions)
    else:
        await svc.barrier.settle_send(positions)
    return json_response({"event_id": event_id})


async def _send_requester(request: web.Request, svc: Services) -> Requester:
    """The sender, from a token map brought up to the ``accounts`` read model as
    this process knows it; a token it does not know may have been issued a moment
    ago by another process, so only after the full read barrier is it refused."""
    await svc.barrier.tokens_caught_up()
    try:
        return require_auth(request)
    except MatrixError as e:
        if e.errcode != "M_UNKNOWN_TOKEN" or e.extra.get("soft_logout"):
            raise  # missing, or known and expired: nothing the barrier could change
    await svc.barrier.wait()
    return require_auth(request)


async def _put_state(request: web.Request, state_key: str) -> web.Response:
    requester = require_auth(request)
    content = await json_body(request, allow_empty=True)
    with room_errors():
        event_id, positions = await set_state(
            room_deps(request),
            sender=requester.user_id,
            room_id=request.match_info["roomId"],
            event_type=request.match_info["eventType"],
            state_key=state_key,
            content=content,
        )
    await settle(services(request), positions)
    return json_response({"event_id": event_id})


@routes.put(PREFIX + "/rooms/{roomId}/state/{eventType}")
async def put_state_empty_key(request: web.Request) -> web.Response:
    """PUT /_matrix/client/v3/rooms/{roomId}/state/{eventType}"""
    return await _put_state(request, "")


@routes.put(PREFIX + "/rooms/{roomId}/state/{eventType}/{stateKey:.*}")
async def put_state(request: web.Request) -> web.Response:
    """PUT /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}"""
    return await _put_state(request, request.match_info["stateKey"])


@routes.put(PREFIX + "/rooms/{roomId}/redact/{eventId}/{txnId}")
async def put_redact(request: web.Request) -> web.Response:
    """PUT /_matrix/client/v3/rooms/{roomId}/redact/{eventId}/{txnId}"""
    requester = require_auth(request)
    svc = services(request)
    svc.ratelimiter.check("message", requester.user_id)
    body = await json_body(request, allow_empty=True)
    reason = optional_str(body, "reason")
    with room_errors():
        event_id, positions = await redact(
            room_deps(request),
            sender=requester.user_id,
            device_id=requester.device_id,
            room_id=request.match_info["roomId"],
            event_id=request.match_info["eventId"],
            txn_id=request.match_info["txnId"],
            content={"reason": reason} if reason is not None else {},
        )
    await settle(svc, positions)
    return json_response({"event_id": event_id})
