"""Registration: creating accounts, checking names and registration tokens."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from tessera.app.http.context import services
from tessera.app.http.errors import MatrixError, forbidden
from tessera.app.http.json import json_body, json_response
from tessera.app.http.ratelimit import check_request
from tessera.app.services import Services
from tessera.app.usernames import UsernameError, local_user_id
from tessera.command.account_handlers import Login, register
from tessera.command.accounts import user_in_use
from tessera.query.accounts import aget_user

from .account_common import (
    DUMMY,
    REGISTRATION_TOKEN,
    AuthRequired,
    account_errors,
    auth_dict,
    optional_bool,
    optional_string,
    session_body,
    settle,
)

routes = web.RouteTableDef()

#: Longest password accepted (Argon2 would take any; a bound keeps requests cheap).
MAX_PASSWORD = 512


def _flows(svc: Services) -> list[list[str]]:
    return [[REGISTRATION_TOKEN]] if svc.config.registration_requires_token else [[DUMMY]]


def _check_open(svc: Services) -> None:
    if not svc.config.enable_registration:
        raise forbidden("Registration has been disabled")


async def _available_user_id(svc: Services, username: str) -> str:
    try:
        user_id = local_user_id(username, svc.server_name)
    except UsernameError as e:
        raise MatrixError(400, "M_INVALID_USERNAME", e.error) from None
    if await aget_user(svc.readdb, user_id) is not None:
        raise MatrixError(400, user_in_use().errcode, user_in_use().error)
    return user_id


def _check_auth(svc: Services, body: dict[str, Any]) -> None:
    flows = _flows(svc)
    auth = auth_dict(body)
    if auth is None:
        raise AuthRequired(flows)
    kind = auth.get("type")
    if kind not in {stages[0] for stages in flows}:
        raise AuthRequired(flows, "M_UNRECOGNIZED", "Unsupported authentication type")
    if kind == REGISTRATION_TOKEN:
        token = auth.get("token")
        if not isinstance(token, str) or token not in svc.config.registration_tokens:
            raise AuthRequired(flows, "M_FORBIDDEN", "Invalid registration token")


@routes.post("/_matrix/client/v3/register")
async def post_register(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/register"""
    svc = services(request)
    if request.query.get("kind", "user") != "user":
        raise MatrixError(403, "M_GUEST_ACCESS_FORBIDDEN", "Guest access is disabled")
    _check_open(svc)
    body = await json_body(request)
    check_request(request, svc.ratelimiter, "registration")
    username = optional_string(body, "username", 1000)
    password = optional_string(body, "password", MAX_PASSWORD)
    device_id = optional_string(body, "device_id", 255)
    display_name = optional_string(body, "initial_device_display_name", 255)
    inhibit_login = optional_bool(body, "inhibit_login", False)
    want_refresh = optional_bool(body, "refresh_token", False)
    # The name is checked before the client is asked to authenticate, so a sign-up
    # form can tell the user at once (as the spec's flow describes).
    if username is not None:
        user_id = await _available_user_id(svc, username)
    else:
        user_id = await _available_user_id(svc, "u" + secrets.token_hex(6))
    _check_auth(svc, body)
    if password is None:
        raise MatrixError(400, "M_MISSING_PARAM", "A password is required")
    login = None
    if not inhibit_login:
        lifetime = svc.config.access_token_lifetime_ms
        login = Login(device_id, display_name, want_refresh, lifetime)
    with account_errors():
        positions, session = await register(
            svc.accounts,
            svc.passwords,
            user_id=user_id,
            password=password,
            login=login,
            now=svc.clock(),
        )
    await settle(svc, positions)
    if session is None:
        return json_response({"user_id": user_id})
    return json_response(session_body(session))


@routes.get("/_matrix/client/v3/register/available")
async def register_available(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/register/available"""
    svc = services(request)
    _check_open(svc)
    check_request(request, svc.ratelimiter, "registration")
    username = request.query.get("username")
    if not username:
        raise MatrixError(400, "M_MISSING_PARAM", "username is required")
    await _available_user_id(svc, username)
    return json_response({"available": True})


@routes.get("/_matrix/client/v1/register/m.login.registration_token/validity")
async def registration_token_validity(request: web.Request) -> web.Response:
    """GET /_matrix/client/v1/register/m.login.registration_token/validity"""
    svc = services(request)
    _check_open(svc)
    check_request(request, svc.ratelimiter, "registration")
    token = request.query.get("token")
    if token is None:
        raise MatrixError(400, "M_MISSING_PARAM", "token is required")
    return json_response({"valid": token in svc.config.registration_tokens})
