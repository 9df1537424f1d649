"""Receipts and read markers: ``POST /rooms/{roomId}/receipt/…`` and
``POST /rooms/{roomId}/read_markers``.

``m.read`` and ``m.read.private`` are receipts (``receipts|<user>`` stream);
``m.fully_read`` is the read marker, kept as the room's account data.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from tessera.app.http.context import Requester, require_auth, services
from tessera.app.http.errors import bad_json, forbidden, invalid_param, not_found
from tessera.app.http.json import json_body, json_response
from tessera.app.services import Services
from tessera.query.events import event_in_room
from tessera.query.state import membership_at
from tessera.schema.userdata import RECEIPT_TYPES, ReceiptSent

routes = web.RouteTableDef()

FULLY_READ = "m.fully_read"


def _check_room_and_event(svc: Services, user_id: str, room_id: str, event_ids: list[str]) -> None:
    if membership_at(svc.readdb, room_id, user_id) != "join":
        raise forbidden("You are not joined to this room")
    for event_id in event_ids:
        if event_in_room(svc.readdb, room_id, event_id) is None:
            raise not_found(f"Unknown event {event_id}")


async def _mark(
    svc: Services,
    requester: Requester,
    room_id: str,
    marks: dict[str, str],
    thread_id: str | None,
) -> None:
    """Records the receipts/read marker in ``marks`` (type -> event ID)."""
    await asyncio.to_thread(
        _check_room_and_event, svc, requester.user_id, room_id, sorted(set(marks.values()))
    )
    positions: list[int] = []
    for mark_type, event_id in marks.items():
        if mark_type == FULLY_READ:
            positions += await svc.userdata.set_account_data(
                requester.user_id, room_id, FULLY_READ, {"event_id": event_id}
            )
        else:
            receipt = ReceiptSent(room_id, event_id, mark_type, thread_id, svc.clock())
            positions += await svc.userdata.send_receipt(requester.user_id, receipt)
    if positions:
        await svc.applied.wait_for(max(positions))


@routes.post("/_matrix/client/v3/rooms/{roomId}/receipt/{receiptType}/{eventId}")
async def post_receipt(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/rooms/{roomId}/receipt/{receiptType}/{eventId}"""
    requester = require_auth(request)
    receipt_type = request.match_info["receiptType"]
    if receipt_type not in (*RECEIPT_TYPES, FULLY_READ):
        raise invalid_param(f"Unknown receipt type {receipt_type!r}")
    body = await json_body(request, allow_empty=True)
    thread_id: Any = body.get("thread_id")
    if thread_id is not None:
        if not isinstance(thread_id, str) or not (thread_id == "main" or thread_id.startswith("$")):
            raise invalid_param("'thread_id' must be 'main' or an event ID")
        if receipt_type == FULLY_READ:
            raise invalid_param("m.fully_read has no thread")
    marks = {receipt_type: request.match_info["eventId"]}
    await _mark(services(request), requester, request.match_info["roomId"], marks, thread_id)
    return json_response({})


@routes.post("/_matrix/client/v3/rooms/{roomId}/read_markers")
async def post_read_markers(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/rooms/{roomId}/read_markers"""
    requester = require_auth(request)
    body = await json_body(request, allow_empty=True)
    marks: dict[str, str] = {}
    for key in (FULLY_READ, *RECEIPT_TYPES):
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.startswith("$"):
            raise bad_json(f"'{key}' must be an event ID")
        marks[key] = value
    if not marks:
        return json_response({})
    await _mark(services(request), requester, request.match_info["roomId"], marks, None)
    return json_response({})
