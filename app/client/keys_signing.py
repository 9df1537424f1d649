"""Cross-signing: ``/keys/device_signing/upload`` and ``/keys/signatures/upload``
(with the unstable aliases older clients call)."""

from __future__ import annotations

from aiohttp import web

from tessera.app.http.context import require_auth, services
from tessera.app.http.json import json_body, json_response

from .account_common import require_password_uia
from .keys import key_errors, route, settle

routes = web.RouteTableDef()


@route(routes, "POST", "/keys/device_signing/upload")
async def device_signing_upload(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/keys/device_signing/upload

    User-interactive auth (``m.login.password``) only when an existing
    cross-signing key would be replaced: a first upload, or the same keys again,
    needs none (as the spec's 1.11 change allows)."""
    svc = services(request)
    requester = require_auth(request)
    body = await json_body(request)

    async def authenticate() -> None:
        await require_password_uia(svc, body, requester.user_id)

    with key_errors():
        positions = await svc.e2ee.keys.upload_cross_signing(requester.user_id, body, authenticate)
    await settle(svc, positions)
    return json_response({})


@route(routes, "POST", "/keys/signatures/upload")
async def signatures_upload(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/keys/signatures/upload"""
    svc = services(request)
    requester = require_auth(request)
    body = await json_body(request)
    with key_errors():
        positions, failures = await svc.e2ee.keys.upload_signatures(requester.user_id, body)
    await settle(svc, positions)
    return json_response({"failures": failures})
