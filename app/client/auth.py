"""Sessions: logging in, refreshing access tokens, logging out."""

from __future__ import annotations

import asyncio

from aiohttp import web

from tessera.app.http.context import access_token, require_auth, services
from tessera.app.http.errors import MatrixError
from tessera.app.http.json import json_body, json_response
from tessera.app.http.ratelimit import check_request
from tessera.command.account_handlers import Login, login_with_password, refresh_session
from tessera.command.accounts import AccountError
from tessera.query.accounts import aget_user, refresh_token_owner
from tessera.schema.accounts import token_hash

from .account_common import (
    PASSWORD,
    account_errors,
    identifier_user,
    optional_bool,
    optional_string,
    session_body,
    settle,
)

routes = web.RouteTableDef()


@routes.get("/_matrix/client/v3/login")
async def get_login(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/login"""
    return json_response({"flows": [{"type": PASSWORD}]})


@routes.post("/_matrix/client/v3/login")
async def post_login(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/login"""
    svc = services(request)
    body = await json_body(request)
    if body.get("type") != PASSWORD:
        raise MatrixError(400, "M_UNKNOWN", "Unknown login type")
    user_id = identifier_user(body, svc.server_name)
    check_request(request, svc.ratelimiter, "login", *([f"user:{user_id}"] if user_id else []))
    password = body.get("password")
    if not isinstance(password, str):
        raise MatrixError(400, "M_MISSING_PARAM", "A password is required")
    login = Login(
        device_id=optional_string(body, "device_id", 255),
        display_name=optional_string(body, "initial_device_display_name", 255),
        refresh=optional_bool(body, "refresh_token", False),
        lifetime_ms=svc.config.access_token_lifetime_ms,
    )
    user = await aget_user(svc.readdb, user_id) if user_id else None
    if user is not None and user.deactivated:
        raise MatrixError(403, "M_USER_DEACTIVATED", "This account has been deactivated")
    with account_errors():
        session = await login_with_password(
            svc.accounts,
            svc.passwords,
            user_id=user_id or "@:" + svc.server_name,
            password_hash=user.password_hash if user else None,
            password=password,
            login=login,
            now=svc.clock(),
        )
    await settle(svc, session.positions)
    return json_response(session_body(session))


@routes.post("/_matrix/client/v3/refresh")
async def post_refresh(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/refresh"""
    svc = services(request)
    body = await json_body(request)
    refresh_token = body.get("refresh_token")
    if not isinstance(refresh_token, str):
        raise MatrixError(400, "M_MISSING_PARAM", "refresh_token is required")
    unknown = MatrixError(401, "M_UNKNOWN_TOKEN", "Unknown refresh token", soft_logout=False)
    owner = await asyncio.to_thread(refresh_token_owner, svc.readdb, token_hash(refresh_token))
    if owner is None:
        raise unknown
    try:
        session = await refresh_session(
            svc.accounts, owner, refresh_token, svc.config.access_token_lifetime_ms, svc.clock()
        )
    except AccountError:
        raise unknown from None
    await settle(svc, session.positions)
    return json_response(
        {
            "access_token": session.access_token,
            "refresh_token": session.refresh_token,
            "expires_in_ms": session.expires_in_ms,
        }
    )


@routes.post("/_matrix/client/v3/logout")
async def logout(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/logout"""
    svc = services(request)
    requester = require_auth(request)
    sha = token_hash(access_token(request) or "")
    with account_errors():
        positions = await svc.accounts.change(requester.user_id, lambda a: a.decide_logout(sha))
    await settle(svc, positions)
    return json_response({})


@routes.post("/_matrix/client/v3/logout/all")
async def logout_all(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/logout/all"""
    svc = services(request)
    requester = require_auth(request)
    with account_errors():
        positions = await svc.accounts.change(requester.user_id, lambda a: a.decide_logout_all())
    await settle(svc, positions)
    return json_response({})
