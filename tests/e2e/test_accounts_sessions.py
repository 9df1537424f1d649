"""Registration, login, refresh and logout over HTTP, on both profiles."""

from __future__ import annotations

from typing import Any

from tests.e2e.harness import PASSWORD, Client, Server
from tests.openapi import assert_matches_spec

V3 = "/_matrix/client/v3"


async def spec_post(client: Client, path: str, body: Any, token: str | None = None) -> Any:
    status, answer = await client.post(V3 + path, body, token)
    assert_matches_spec("POST", V3 + path, status, answer)
    return status, answer


async def test_register_needs_user_interactive_auth_first(client: Client) -> None:
    status, body = await spec_post(client, "/register", {"username": "carol", "password": "pw"})
    assert status == 401
    assert body["flows"] == [{"stages": ["m.login.dummy"]}]
    assert isinstance(body["session"], str) and body["session"]
    auth = {"type": "m.login.dummy", "session": body["session"]}
    status, body = await spec_post(
        client,
        "/register",
        {"username": "Carol", "password": "pw", "auth": auth, "initial_device_display_name": "web"},
    )
    assert status == 200
    assert body["user_id"] == "@carol:localhost:8008"  # lower-cased
    status, devices = await client.get(V3 + "/devices", body["access_token"])
    assert devices["devices"] == [{"device_id": body["device_id"], "display_name": "web"}]


async def test_register_with_inhibit_login_and_a_chosen_device(client: Client) -> None:
    dummy = {"type": "m.login.dummy"}
    status, body = await spec_post(
        client,
        "/register",
        {"username": "dan", "password": PASSWORD, "auth": dummy, "inhibit_login": True},
    )
    assert (status, body) == (200, {"user_id": "@dan:localhost:8008"})
    user = await client.login("@dan:localhost:8008", device_id="MYDEVICE")
    assert user.device_id == "MYDEVICE"


async def test_register_errors(client: Client) -> None:
    await client.register("erin")
    dummy = {"type": "m.login.dummy"}
    cases = [
        ({"username": "erin", "password": "x", "auth": dummy}, 400, "M_USER_IN_USE"),
        ({"username": "ERIN", "password": "x", "auth": dummy}, 400, "M_USER_IN_USE"),
        ({"username": "bad name", "password": "x", "auth": dummy}, 400, "M_INVALID_USERNAME"),
        ({"username": "_bridge", "password": "x", "auth": dummy}, 400, "M_INVALID_USERNAME"),
        ({"username": "12345", "password": "x", "auth": dummy}, 400, "M_INVALID_USERNAME"),
        ({"username": "x" * 300, "password": "x", "auth": dummy}, 400, "M_INVALID_USERNAME"),
        ({"username": "frank", "auth": dummy}, 400, "M_MISSING_PARAM"),
        ({"username": "frank", "password": 5, "auth": dummy}, 400, "M_INVALID_PARAM"),
    ]
    for body, status, errcode in cases:
        got, answer = await client.post(V3 + "/register", body)
        assert (got, answer["errcode"]) == (status, errcode), body
    status, body = await client.post(V3 + "/register?kind=guest", {})
    assert (status, body["errcode"]) == (403, "M_GUEST_ACCESS_FORBIDDEN")


async def test_register_available(client: Client) -> None:
    await client.register("gina")
    status, body = await client.get(V3 + "/register/available?username=henry")
    assert (status, body) == (200, {"available": True})
    assert_matches_spec("GET", V3 + "/register/available", status, body)
    status, body = await client.get(V3 + "/register/available?username=gina")
    assert (status, body["errcode"]) == (400, "M_USER_IN_USE")
    status, body = await client.get(V3 + "/register/available?username=Not%20Valid")
    assert (status, body["errcode"]) == (400, "M_INVALID_USERNAME")


async def test_registration_closed(start_server: Any, http: Any) -> None:
    server = await start_server(enable_registration=False)
    client = Client(http, server.base_url)
    body = {"username": "ivy", "password": "x", "auth": {"type": "m.login.dummy"}}
    status, answer = await client.post(V3 + "/register", body)
    assert (status, answer["errcode"]) == (403, "M_FORBIDDEN")
    status, answer = await client.get(V3 + "/register/available?username=ivy")
    assert (status, answer["errcode"]) == (403, "M_FORBIDDEN")


async def test_registration_token(start_server: Any, http: Any) -> None:
    server = await start_server(registration_requires_token=True, registration_tokens=["s3cret"])
    client = Client(http, server.base_url)
    body: dict[str, Any] = {"username": "jack", "password": "pw"}
    status, answer = await client.post(V3 + "/register", body)
    assert status == 401
    assert answer["flows"] == [{"stages": ["m.login.registration_token"]}]
    status, answer = await client.post(
        V3 + "/register", {**body, "auth": {"type": "m.login.dummy"}}
    )
    assert status == 401  # dummy is not a flow here
    wrong = {"type": "m.login.registration_token", "token": "nope"}
    status, answer = await client.post(V3 + "/register", {**body, "auth": wrong})
    assert (status, answer["errcode"]) == (401, "M_FORBIDDEN")
    assert answer["flows"]
    right = {"type": "m.login.registration_token", "token": "s3cret", "session": "x"}
    status, answer = await client.post(V3 + "/register", {**body, "auth": right})
    assert status == 200 and answer["user_id"] == "@jack:localhost:8008"
    validity = "/_matrix/client/v1/register/m.login.registration_token/validity"
    assert await client.get(validity + "?token=s3cret") == (200, {"valid": True})
    assert await client.get(validity + "?token=other") == (200, {"valid": False})


async def test_login_flows_and_password_login(client: Client, server: Server) -> None:
    status, body = await client.get(V3 + "/login")
    assert (status, body) == (200, {"flows": [{"type": "m.login.password"}]})
    assert_matches_spec("GET", V3 + "/login", status, body)
    kim = await client.register("kim")
    status, body = await spec_post(
        client,
        "/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "kim"},
            "password": PASSWORD,
        },
    )
    assert status == 200 and body["user_id"] == kim.user_id and body["device_id"] != kim.device_id
    assert "refresh_token" not in body and "expires_in_ms" not in body
    # The legacy top-level ``user`` field, with a full user ID.
    legacy = {"type": "m.login.password", "user": kim.user_id, "password": PASSWORD}
    status, body = await client.post(V3 + "/login", legacy)
    assert status == 200
    status, me = await client.get(V3 + "/account/whoami", body["access_token"])
    assert me["user_id"] == kim.user_id


async def test_login_failures(client: Client) -> None:
    await client.register("lee")
    base = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "lee"}}
    status, body = await client.post(V3 + "/login", {**base, "password": "wrong"})
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    unknown = {**base, "identifier": {"type": "m.id.user", "user": "nobody"}, "password": "x"}
    status, body = await client.post(V3 + "/login", unknown)
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    status, body = await client.post(V3 + "/login", {**base, "type": "m.login.sso"})
    assert (status, body["errcode"]) == (400, "M_UNKNOWN")
    phone = {**base, "identifier": {"type": "m.id.phone", "country": "GB", "phone": "1"}}
    status, body = await client.post(V3 + "/login", {**phone, "password": "x"})
    assert (status, body["errcode"]) == (400, "M_UNKNOWN")


async def test_refresh_tokens(client: Client) -> None:
    mia = await client.register("mia", refresh_token=True)
    assert mia.body["expires_in_ms"] == 5 * 60 * 1000
    refresh = mia.body["refresh_token"]
    status, body = await spec_post(client, "/refresh", {"refresh_token": refresh})
    assert status == 200 and body["refresh_token"] != refresh
    # The old access token is replaced, the new one works, the old refresh token is spent.
    status, answer = await client.get(V3 + "/account/whoami", mia.token)
    assert (status, answer["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    status, answer = await client.get(V3 + "/account/whoami", body["access_token"])
    assert (status, answer["device_id"]) == (200, mia.device_id)
    status, answer = await client.post(V3 + "/refresh", {"refresh_token": refresh})
    assert (status, answer["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    login = await client.login(mia.user_id, refresh_token=True)
    assert "refresh_token" in login.body and "expires_in_ms" in login.body


async def test_an_expired_access_token_is_a_soft_logout(start_server: Any, http: Any) -> None:
    server = await start_server(access_token_lifetime_ms=1)
    client = Client(http, server.base_url)
    nina = await client.register("nina", refresh_token=True)
    status, body = await client.get(V3 + "/account/whoami", nina.token)
    assert (status, body["errcode"], body["soft_logout"]) == (401, "M_UNKNOWN_TOKEN", True)
    status, body = await client.post(V3 + "/refresh", {"refresh_token": nina.body["refresh_token"]})
    assert status == 200


async def test_logout_and_logout_all(client: Client) -> None:
    omar = await client.register("omar")
    second = await client.login(omar.user_id)
    third = await client.login(omar.user_id)
    status, body = await spec_post(client, "/logout", {}, second.token)
    assert (status, body) == (200, {})
    status, body = await client.get(V3 + "/account/whoami", second.token)
    assert (status, body["errcode"], body["soft_logout"]) == (401, "M_UNKNOWN_TOKEN", False)
    status, devices = await client.get(V3 + "/devices", omar.token)
    assert {d["device_id"] for d in devices["devices"]} == {omar.device_id, third.device_id}
    status, body = await spec_post(client, "/logout/all", {}, third.token)
    assert status == 200
    for user in (omar, third):
        status, body = await client.get(V3 + "/account/whoami", user.token)
        assert status == 401
