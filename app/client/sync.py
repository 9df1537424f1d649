"""Sync and filters: ``GET /sync``, ``POST``/``GET /user/{userId}/filter``."""

from __future__ import annotations

import asyncio

import orjson
from aiohttp import web

from tessera.app.http.context import require_auth, services
from tessera.app.http.errors import MatrixError, forbidden, invalid_param, not_found
from tessera.app.http.json import json_body, json_response
from tessera.query.sync import FilterError, SyncFilter, SyncRequest
from tessera.query.tokens import BadToken, StreamToken

from .to_device import acknowledge_to_device

routes = web.RouteTableDef()

#: The longest a long-poll is held, whatever the client asks (proxies give up around 60 s).
MAX_TIMEOUT_MS = 60_000
PRESENCE_STATES = ("offline", "online", "unavailable")


def _flag(request: web.Request, *names: str) -> bool:
    for name in names:
        value = request.query.get(name)
        if value is not None:
            return value.lower() in ("true", "1")
    return False


async def _filter(request: web.Request, user_id: str) -> SyncFilter:
    text = request.query.get("filter")
    if text is None or not text.strip():
        return SyncFilter()
    try:
        if text.lstrip().startswith("{"):
            try:
                definition = orjson.loads(text)
            except orjson.JSONDecodeError:
                raise MatrixError(400, "M_NOT_JSON", "filter is not valid JSON") from None
        else:
            store = services(request).sync.store
            definition = await asyncio.to_thread(store.filter, user_id, text)
            if definition is None:
                raise not_found(f"No filter {text!r}")
        return SyncFilter.parse(definition)
    except FilterError as e:
        raise MatrixError(400, "M_BAD_JSON", f"Invalid filter: {e}") from None


@routes.get("/_matrix/client/v3/sync")
async def sync(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/sync"""
    requester = require_auth(request)
    since_text = request.query.get("since")
    try:
        since = StreamToken.parse(since_text) if since_text else None
    except BadToken:
        raise invalid_param("Invalid 'since' token") from None
    try:
        timeout_ms = int(request.query.get("timeout", "0"))
    except ValueError:
        raise invalid_param("'timeout' must be an integer of milliseconds") from None
    presence = request.query.get("set_presence")
    if presence is not None and presence not in PRESENCE_STATES:
        raise invalid_param("Invalid 'set_presence'")
    sync_request = SyncRequest(
        user_id=requester.user_id,
        device_id=requester.device_id,
        since=since,
        filter=await _filter(request, requester.user_id),
        full_state=_flag(request, "full_state"),
        use_state_after=_flag(request, "use_state_after", "org.matrix.msc4222.use_state_after"),
        timeout_ms=max(0, min(timeout_ms, MAX_TIMEOUT_MS)),
    )
    svc = services(request)
    if since is not None:
        await acknowledge_to_device(svc, requester.user_id, requester.device_id, since.position)
    return json_response(await svc.sync.sync(sync_request))


def _own(request: web.Request) -> str:
    requester = require_auth(request)
    user_id = request.match_info["userId"]
    if user_id != requester.user_id:
        raise forbidden("Cannot access another user's filters or data")
    return user_id


@routes.post("/_matrix/client/v3/user/{userId}/filter")
async def create_filter(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/user/{userId}/filter"""
    user_id = _own(request)
    body = await json_body(request)
    try:
        SyncFilter.parse(body)
    except FilterError as e:
        raise MatrixError(400, "M_BAD_JSON", f"Invalid filter: {e}") from None
    svc = services(request)
    position, filter_id = await svc.userdata.create_filter(user_id, body)
    await svc.applied.wait_for(position)
    return json_response({"filter_id": filter_id})


@routes.get("/_matrix/client/v3/user/{userId}/filter/{filterId}")
async def get_filter(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/user/{userId}/filter/{filterId}"""
    user_id = _own(request)
    store = services(request).sync.store
    definition = await asyncio.to_thread(store.filter, user_id, request.match_info["filterId"])
    if definition is None:
        raise not_found("Unknown filter")
    return json_response(definition)
