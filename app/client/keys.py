"""Device keys: upload, query, claim, changes (``/keys/*``), and the unstable
``/_matrix/client/r0|unstable`` aliases older clients still call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from tessera.app.http.context import require_auth, services
from tessera.app.http.errors import MatrixError, bad_json, invalid_param
from tessera.app.http.json import json_body, json_response
from tessera.app.services import Services
from tessera.command.keys_service import check_claim_body
from tessera.command.keys_validate import KeysRefused
from tessera.kernel.identifiers import is_valid_user_id
from tessera.query.keys import device_list_changes, query_keys
from tessera.query.tokens import BadToken, StreamToken

routes = web.RouteTableDef()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PREFIXES = ("/_matrix/client/v3", "/_matrix/client/r0", "/_matrix/client/unstable")


def route(
    table: web.RouteTableDef, method: str, path: str, prefixes: tuple[str, ...] = PREFIXES
) -> Callable[[Handler], Handler]:
    """Registers a handler under the stable prefix and the aliases older clients call."""

    def register(handler: Handler) -> Handler:
        for prefix in prefixes:
            table.route(method, prefix + path)(handler)
        return handler

    return register


@contextmanager
def key_errors() -> Iterator[None]:
    try:
        yield
    except KeysRefused as e:
        raise MatrixError(e.status, e.errcode, e.error, **e.extra) from None


async def settle(svc: Services, positions: list[int]) -> None:
    if positions:
        await svc.applied.wait_for(max(positions))


def local_users(svc: Services, users: Any) -> tuple[list[str], dict[str, Any]]:
    """Local user IDs among ``users``, and ``failures`` for remote servers (no
    federation yet: their keys cannot be fetched)."""
    local, failures = [], {}
    for user_id in users:
        if not isinstance(user_id, str) or not is_valid_user_id(user_id):
            raise invalid_param(f"Invalid user ID {user_id!r}")
        server = user_id.partition(":")[2]
        if server == svc.server_name:
            local.append(user_id)
        else:
            failures[server] = {"status": 503, "message": "Federation is not available"}
    return local, failures


@route(routes, "POST", "/keys/upload")
async def upload_keys(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/keys/upload"""
    svc = services(request)
    requester = require_auth(request)
    body = await json_body(request, allow_empty=True)
    with key_errors():
        positions, counts = await svc.e2ee.keys.upload(requester.user_id, requester.device_id, body)
    await settle(svc, positions)
    return json_response({"one_time_key_counts": counts})


@route(routes, "POST", "/keys/query")
async def query(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/keys/query"""
    svc = services(request)
    requester = require_auth(request)
    body = await json_body(request)
    wanted = body.get("device_keys")
    if not isinstance(wanted, dict) or not all(
        isinstance(d, list) and all(isinstance(x, str) for x in d) for d in wanted.values()
    ):
        raise bad_json("device_keys must map user IDs to lists of device IDs")
    local, failures = local_users(svc, wanted)
    result = await asyncio.to_thread(
        query_keys, svc.readdb, requester.user_id, {u: wanted[u] for u in local}
    )
    result["failures"] = failures
    return json_response(result)


@route(routes, "POST", "/keys/claim")
async def claim(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/keys/claim"""
    svc = services(request)
    require_auth(request)
    body = await json_body(request)
    with key_errors():
        wanted = check_claim_body(body)
        local, failures = local_users(svc, wanted)
        positions, keys = await svc.e2ee.keys.claim({u: wanted[u] for u in local})
    await settle(svc, positions)
    return json_response({"one_time_keys": keys, "failures": failures})


def _token(request: web.Request, name: str) -> int:
    text = request.query.get(name)
    if text is None:
        raise MatrixError(400, "M_MISSING_PARAM", f"'{name}' is required")
    try:
        return StreamToken.parse(text).position
    except BadToken:
        raise invalid_param(f"Invalid '{name}' token") from None


@route(routes, "GET", "/keys/changes")
async def changes(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/keys/changes"""
    svc = services(request)
    requester = require_auth(request)
    since, upto = _token(request, "from"), _token(request, "to")
    upto = min(upto, svc.applied.current())
    changed, left = (
        ([], [])
        if upto <= since
        else await asyncio.to_thread(
            device_list_changes, svc.readdb, requester.user_id, since, upto
        )
    )
    return json_response({"changed": changed, "left": left})
