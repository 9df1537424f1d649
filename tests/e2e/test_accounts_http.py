"""The HTTP surface's errors, CORS and rate limits, as a client meets them."""

from __future__ import annotations

from typing import Any

import aiohttp

from tessera.app.config import RateLimit
from tests.e2e.harness import Client
from tests.openapi import assert_matches_spec

V3 = "/_matrix/client/v3"


async def test_token_errors(client: Client) -> None:
    status, body = await client.get(V3 + "/account/whoami")
    assert (status, body["errcode"]) == (401, "M_MISSING_TOKEN")
    status, body = await client.get(V3 + "/account/whoami", "not-a-token")
    assert (status, body["errcode"], body["soft_logout"]) == (401, "M_UNKNOWN_TOKEN", False)
    user = await client.register()
    status, body = await client.get(V3 + f"/account/whoami?access_token={user.token}")
    assert (status, body["user_id"]) == (200, user.user_id)


async def test_bad_json_unknown_endpoints_and_wrong_methods(client: Client) -> None:
    status, body = await client.request("POST", V3 + "/login", data=b"{not json")
    assert (status, body["errcode"]) == (400, "M_NOT_JSON")
    status, body = await client.request("POST", V3 + "/login", data=b"[1, 2]")
    assert (status, body["errcode"]) == (400, "M_BAD_JSON")
    status, body = await client.get(V3 + "/no/such/endpoint")
    assert (status, body["errcode"]) == (404, "M_UNRECOGNIZED")
    status, body = await client.request("PATCH", V3 + "/login", {})
    assert (status, body["errcode"]) == (405, "M_UNRECOGNIZED")
    status, body = await client.request("DELETE", V3 + "/account/whoami")
    assert (status, body["errcode"]) == (405, "M_UNRECOGNIZED")


async def test_cors_preflight(client: Client, http: aiohttp.ClientSession) -> None:
    headers = {
        "Origin": "https://app.element.io",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type",
    }
    async with http.options(client.base_url + V3 + "/login", headers=headers) as response:
        assert response.status in (200, 204)
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        methods = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
        assert {"GET", "POST", "PUT", "DELETE", "OPTIONS"} <= methods
        header = response.headers["Access-Control-Allow-Headers"]
        allowed = {h.strip().lower() for h in header.split(",")}
        assert {"x-requested-with", "content-type", "authorization"} <= allowed
    # Errors carry the headers too, or a browser could not read them.
    async with http.get(client.base_url + V3 + "/account/whoami") as response:
        assert response.status == 401
        assert response.headers["Access-Control-Allow-Origin"] == "*"


async def test_login_rate_limit(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(rc_login=RateLimit(per_second=0.1, burst=2))
    client = Client(http, server.base_url)
    user = await client.register("yara")
    login = {"type": "m.login.password", "user": "yara", "password": "wrong"}
    for _ in range(2):
        assert (await client.post(V3 + "/login", login))[0] == 403
    async with http.post(server.base_url + V3 + "/login", json=login) as response:
        body = await response.json()
        assert response.status == 429
        assert body["errcode"] == "M_LIMIT_EXCEEDED"
        assert 0 < body["retry_after_ms"] <= 10_000
        assert 1 <= int(response.headers["Retry-After"]) <= 10
        assert_matches_spec("POST", V3 + "/login", 429, body)
    # Authenticated traffic of the same user is not limited by the login bucket.
    assert (await client.get(V3 + "/account/whoami", user.token))[0] == 200


async def test_registration_rate_limit(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(rc_registration=RateLimit(per_second=0.1, burst=1))
    client = Client(http, server.base_url)
    await client.register()
    body = {"username": "zed", "password": "x", "auth": {"type": "m.login.dummy"}}
    status, answer = await client.post(V3 + "/register", body)
    assert (status, answer["errcode"]) == (429, "M_LIMIT_EXCEEDED")
    assert answer["retry_after_ms"] > 0
