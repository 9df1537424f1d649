"""Server-side key backup: ``/room_keys/version`` and ``/room_keys/keys``
(with the ``unstable`` aliases older clients call)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from tessera.app.http.context import require_auth, services
from tessera.app.http.errors import MatrixError, bad_json, missing_param, not_found
from tessera.app.http.json import json_body, json_response
from tessera.command.room_keys import check_key_data
from tessera.query.room_keys import backup_keys, backup_version

from .keys import key_errors, route, settle

routes = web.RouteTableDef()


def _version_body(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    algorithm, auth_data = body.get("algorithm"), body.get("auth_data")
    if not isinstance(algorithm, str) or not isinstance(auth_data, dict):
        raise bad_json("algorithm (a string) and auth_data (an object) are required")
    return algorithm, auth_data


@route(routes, "POST", "/room_keys/version")
async def create_version(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/room_keys/version"""
    svc = services(request)
    requester = require_auth(request)
    algorithm, auth_data = _version_body(await json_body(request))
    positions, version = await svc.e2ee.backup.create(requester.user_id, algorithm, auth_data)
    await settle(svc, positions)
    return json_response({"version": version})


async def _get_version(request: web.Request, version: str | None) -> web.Response:
    svc = services(request)
    requester = require_auth(request)
    body = await asyncio.to_thread(backup_version, svc.readdb, requester.user_id, version)
    if body is None:
        raise not_found(
            "No current backup version" if version is None else "Unknown backup version"
        )
    return json_response(body)


@route(routes, "GET", "/room_keys/version")
async def current_version(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/room_keys/version"""
    return await _get_version(request, None)


@route(routes, "GET", "/room_keys/version/{version}")
async def get_version(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/room_keys/version/{version}"""
    return await _get_version(request, request.match_info["version"])


@route(routes, "PUT", "/room_keys/version/{version}")
async def update_version(request: web.Request) -> web.Response:
    """PUT /_matrix/client/v3/room_keys/version/{version}"""
    svc = services(request)
    requester = require_auth(request)
    version = request.match_info["version"]
    body = await json_body(request)
    algorithm, auth_data = _version_body(body)
    if "version" in body and body["version"] != version:
        raise MatrixError(400, "M_INVALID_PARAM", "The body's version differs from the path's")
    with key_errors():
        positions = await svc.e2ee.backup.update(requester.user_id, version, algorithm, auth_data)
    await settle(svc, positions)
    return json_response({})


@route(routes, "DELETE", "/room_keys/version/{version}")
async def delete_version(request: web.Request) -> web.Response:
    """DELETE /_matrix/client/v3/room_keys/version/{version}"""
    svc = services(request)
    requester = require_auth(request)
    with key_errors():
        positions = await svc.e2ee.backup.delete(requester.user_id, request.match_info["version"])
    await settle(svc, positions)
    return json_response({})


def _query_version(request: web.Request) -> str:
    version = request.query.get("version")
    if version is None:
        raise missing_param("'version' is required")
    return version


def _sessions(value: object, room_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    if not isinstance(value, dict) or not isinstance(value.get("sessions"), dict):
        raise bad_json("Each room must be an object with sessions")
    return [(room_id, s, check_key_data(d)) for s, d in value["sessions"].items()]


async def _put(request: web.Request, keys_of: Any) -> web.Response:
    svc = services(request)
    requester = require_auth(request)
    version = _query_version(request)
    body = await json_body(request)
    with key_errors():
        keys = keys_of(body)
        positions, result = await svc.e2ee.backup.put_keys(requester.user_id, version, keys)
    await settle(svc, positions)
    return json_response(result)


@route(routes, "PUT", "/room_keys/keys")
async def put_all(request: web.Request) -> web.Response:
    """PUT /_matrix/client/v3/room_keys/keys"""

    def keys_of(body: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
        rooms = body.get("rooms")
        if not isinstance(rooms, dict):
            raise bad_json("rooms must be an object")
        return [k for room_id, room in rooms.items() for k in _sessions(room, room_id)]

    return await _put(request, keys_of)


@route(routes, "PUT", "/room_keys/keys/{roomId}")
async def put_room(request: web.Request) -> web.Response:
    """PUT /_matrix/client/v3/room_keys/keys/{roomId}"""
    room_id = request.match_info["roomId"]
    return await _put(request, lambda body: _sessions(body, room_id))


@route(routes, "PUT", "/room_keys/keys/{roomId}/{sessionId}")
async def put_session(request: web.Request) -> web.Response:
    """PUT /_matrix/client/v3/room_keys/keys/{roomId}/{sessionId}"""
    room_id, session_id = request.match_info["roomId"], request.match_info["sessionId"]
    return await _put(request, lambda body: [(room_id, session_id, check_key_data(body))])


async def _get(request: web.Request, room_id: str | None, session_id: str | None) -> Any:
    svc = services(request)
    requester = require_auth(request)
    version = _query_version(request)
    found = await asyncio.to_thread(backup_version, svc.readdb, requester.user_id, version)
    if found is None:
        raise not_found("Unknown backup version")
    return await asyncio.to_thread(
        backup_keys, svc.readdb, requester.user_id, int(version), room_id, session_id
    )


@route(routes, "GET", "/room_keys/keys")
async def get_all(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/room_keys/keys"""
    rooms = await _get(request, None, None)
    return json_response({"rooms": {r: {"sessions": s} for r, s in rooms.items()}})


@route(routes, "GET", "/room_keys/keys/{roomId}")
async def get_room(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/room_keys/keys/{roomId}"""
    room_id = request.match_info["roomId"]
    rooms = await _get(request, room_id, None)
    return json_response({"sessions": rooms.get(room_id, {})})


@route(routes, "GET", "/room_keys/keys/{roomId}/{sessionId}")
async def get_session(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/room_keys/keys/{roomId}/{sessionId}"""
    room_id, session_id = request.match_info["roomId"], request.match_info["sessionId"]
    rooms = await _get(request, room_id, session_id)
    data = rooms.get(room_id, {}).get(session_id)
    if data is None:
        raise not_found("No key for this session")
    return json_response(data)


async def _delete(
    request: web.Request, room_id: str | None, session_id: str | None
) -> web.Response:
    svc = services(request)
    requester = require_auth(request)
    version = _query_version(request)
    with key_errors():
        positions, result = await svc.e2ee.backup.delete_keys(
            requester.user_id, version, room_id, session_id
        )
    await settle(svc, positions)
    return json_response(result)


@route(routes, "DELETE", "/room_keys/keys")
async def delete_all(request: web.Request) -> web.Response:
    """DELETE /_matrix/client/v3/room_keys/keys"""
    return await _delete(request, None, None)


@route(routes, "DELETE", "/room_keys/keys/{roomId}")
async def delete_room(request: web.Request) -> web.Response:
    """DELETE /_matrix/client/v3/room_keys/keys/{roomId}"""
    return await _delete(request, request.match_info["roomId"], None)


@route(routes, "DELETE", "/room_keys/keys/{roomId}/{sessionId}")
async def delete_session(request: web.Request) -> web.Response:
    """DELETE /_matrix/client/v3/room_keys/keys/{roomId}/{sessionId}"""
    return await _delete(request, request.match_info["roomId"], request.match_info["sessionId"])
