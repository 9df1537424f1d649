"""Device management: list, inspect, rename and delete a user's devices."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from tessera.app.http.context import require_auth, services
from tessera.app.http.errors import MatrixError, not_found
from tessera.app.http.json import json_body, json_response
from tessera.query.accounts import Device, list_devices

from .account_common import account_errors, optional_string, require_password_uia, settle

routes = web.RouteTableDef()


def _device_body(device: Device) -> dict[str, Any]:
    body: dict[str, Any] = {"device_id": device.device_id}
    if device.display_name is not None:
        body["display_name"] = device.display_name
    if device.last_seen_ts is not None:
        body["last_seen_ts"] = device.last_seen_ts
    if device.last_seen_ip is not None:
        body["last_seen_ip"] = device.last_seen_ip
    return body


@routes.get("/_matrix/client/v3/devices")
async def get_devices(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/devices"""
    svc = services(request)
    requester = require_auth(request)
    devices = await asyncio.to_thread(list_devices, svc.readdb, requester.user_id)
    return json_response({"devices": [_device_body(d) for d in devices]})


@routes.get("/_matrix/client/v3/devices/{deviceId}")
async def get_device(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/devices/{deviceId}"""
    svc = services(request)
    requester = require_auth(request)
    device_id = request.match_info["deviceId"]
    devices = await asyncio.to_thread(list_devices, svc.readdb, requester.user_id)
    for device in devices:
        if device.device_id == device_id:
            return json_response(_device_body(device))
    raise not_found("Unknown device")


@routes.put("/_matrix/client/v3/devices/{deviceId}")
async def put_device(request: web.Request) -> web.Response:
    """PUT /_matrix/client/v3/devices/{deviceId}"""
    svc = services(request)
    requester = require_auth(request)
    body = await json_body(request, allow_empty=True)
    name = optional_string(body, "display_name", 255)
    device_id = request.match_info["deviceId"]
    with account_errors():
        positions = await svc.accounts.change(
            requester.user_id, lambda a: a.decide_rename_device(device_id, name)
        )
    await settle(svc, positions)
    return json_response({})


@routes.delete("/_matrix/client/v3/devices/{deviceId}")
async def delete_device(request: web.Request) -> web.Response:
    """DELETE /_matrix/client/v3/devices/{deviceId}"""
    svc = services(request)
    requester = require_auth(request)
    body = await json_body(request, allow_empty=True)
    device_id = request.match_info["deviceId"]
    account = await svc.accounts.get(requester.user_id)
    if device_id not in account.devices:
        raise not_found("Unknown device")
    await require_password_uia(svc, body, requester.user_id)
    with account_errors():
        positions = await svc.accounts.change(
            requester.user_id, lambda a: a.decide_delete_devices([device_id])
        )
    await settle(svc, positions)
    return json_response({})


@routes.post("/_matrix/client/v3/delete_devices")
async def delete_devices(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/delete_devices"""
    svc = services(request)
    requester = require_auth(request)
    body = await json_body(request)
    device_ids = body.get("devices")
    if not isinstance(device_ids, list) or not all(isinstance(d, str) for d in device_ids):
        raise MatrixError(400, "M_MISSING_PARAM", "devices must be a list of device IDs")
    await require_password_uia(svc, body, requester.user_id)
    with account_errors():
        positions = await svc.accounts.change(
            requester.user_id, lambda a: a.decide_delete_devices(device_ids)
        )
    await settle(svc, positions)
    return json_response({})
