"""Account management over HTTP: password, deactivation, devices, profile, 3PIDs."""

from __future__ import annotations

from typing import Any

from tests.e2e.harness import PASSWORD, Client, User
from tests.openapi import assert_matches_spec

V3 = "/_matrix/client/v3"


def password_auth(user: User, password: str = PASSWORD) -> dict[str, Any]:
    return {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user.user_id},
        "password": password,
    }


async def test_change_password_with_uia(client: Client) -> None:
    pat = await client.register("pat")
    other = await client.login(pat.user_id)
    status, body = await client.post(V3 + "/account/password", {"new_password": "new"}, pat.token)
    assert status == 401 and body["flows"] == [{"stages": ["m.login.password"]}]
    assert_matches_spec("POST", V3 + "/account/password", status, body)
    wrong = {"new_password": "new", "auth": password_auth(pat, "wrong")}
    status, body = await client.post(V3 + "/account/password", wrong, pat.token)
    assert (status, body["errcode"]) == (401, "M_FORBIDDEN")
    right = {"new_password": "new", "auth": password_auth(pat)}
    status, body = await client.post(V3 + "/account/password", right, pat.token)
    assert (status, body) == (200, {})
    # Other devices are logged out, this one stays; only the new password works.
    assert (await client.get(V3 + "/account/whoami", other.token))[0] == 401
    assert (await client.get(V3 + "/account/whoami", pat.token))[0] == 200
    old = {"type": "m.login.password", "user": "pat", "password": PASSWORD}
    assert (await client.post(V3 + "/login", old))[0] == 403
    await client.login(pat.user_id, "new")


async def test_change_password_keeping_other_devices(client: Client) -> None:
    quinn = await client.register("quinn")
    other = await client.login(quinn.user_id)
    body = {"new_password": "new", "logout_devices": False, "auth": password_auth(quinn)}
    assert (await client.post(V3 + "/account/password", body, quinn.token))[0] == 200
    assert (await client.get(V3 + "/account/whoami", other.token))[0] == 200


async def test_deactivate(client: Client) -> None:
    rose = await client.register("rose")
    await client.put(V3 + f"/profile/{rose.user_id}/displayname", {"displayname": "R"}, rose.token)
    status, body = await client.post(V3 + "/account/deactivate", {}, rose.token)
    assert status == 401
    status, body = await client.post(
        V3 + "/account/deactivate", {"auth": password_auth(rose)}, rose.token
    )
    assert (status, body) == (200, {"id_server_unbind_result": "no-support"})
    assert_matches_spec("POST", V3 + "/account/deactivate", status, body)
    assert (await client.get(V3 + "/account/whoami", rose.token))[0] == 401
    login = {"type": "m.login.password", "user": "rose", "password": PASSWORD}
    status, body = await client.post(V3 + "/login", login)
    assert (status, body["errcode"]) == (403, "M_USER_DEACTIVATED")
    assert (await client.get(V3 + f"/profile/{rose.user_id}"))[1] == {}
    status, body = await client.get(V3 + "/register/available?username=rose")
    assert body["errcode"] == "M_USER_IN_USE"  # a deactivated name is never reused


async def test_devices(client: Client) -> None:
    sam = await client.register("sam", initial_device_display_name="phone")
    laptop = await client.login(sam.user_id, initial_device_display_name="laptop")
    status, body = await client.get(V3 + "/devices", sam.token)
    assert status == 200
    assert_matches_spec("GET", V3 + "/devices", status, body)
    names = {d["device_id"]: d.get("display_name") for d in body["devices"]}
    assert names == {sam.device_id: "phone", laptop.device_id: "laptop"}

    path = V3 + f"/devices/{laptop.device_id}"
    status, body = await client.get(path, sam.token)
    assert (status, body) == (200, {"device_id": laptop.device_id, "display_name": "laptop"})
    assert (await client.put(path, {"display_name": "work"}, sam.token)) == (200, {})
    assert (await client.get(path, sam.token))[1]["display_name"] == "work"
    status, body = await client.get(V3 + "/devices/NOPE", sam.token)
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = await client.put(V3 + "/devices/NOPE", {"display_name": "x"}, sam.token)
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")

    status, body = await client.delete(path, {}, sam.token)
    assert status == 401 and body["flows"] == [{"stages": ["m.login.password"]}]
    status, body = await client.delete(path, {"auth": password_auth(sam)}, sam.token)
    assert (status, body) == (200, {})
    assert (await client.get(V3 + "/account/whoami", laptop.token))[0] == 401
    status, body = await client.delete(V3 + "/devices/NOPE", {}, sam.token)
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")


async def test_delete_devices(client: Client) -> None:
    tia = await client.register("tia")
    a = await client.login(tia.user_id)
    b = await client.login(tia.user_id)
    body: dict[str, Any] = {"devices": [a.device_id, b.device_id, "UNKNOWN"]}
    status, answer = await client.post(V3 + "/delete_devices", body, tia.token)
    assert status == 401
    body["auth"] = password_auth(tia)
    assert (await client.post(V3 + "/delete_devices", body, tia.token)) == (200, {})
    status, answer = await client.get(V3 + "/devices", tia.token)
    assert [d["device_id"] for d in answer["devices"]] == [tia.device_id]
    status, answer = await client.post(V3 + "/delete_devices", {"devices": "x"}, tia.token)
    assert status == 400


async def test_profile(client: Client) -> None:
    uma = await client.register("uma")
    other = await client.register("vic")
    status, body = await client.get(V3 + f"/profile/{uma.user_id}")
    assert (status, body) == (200, {})
    path = V3 + f"/profile/{uma.user_id}"
    assert (await client.put(path + "/displayname", {"displayname": "Uma"}, uma.token)) == (200, {})
    avatar = {"avatar_url": "mxc://localhost:8008/abc"}
    assert (await client.put(path + "/avatar_url", avatar, uma.token)) == (200, {})
    status, body = await client.get(path)
    assert (status, body) == (200, {"displayname": "Uma", **avatar})
    assert_matches_spec("GET", path, status, body)
    assert await client.get(path + "/displayname") == (200, {"displayname": "Uma"})
    assert await client.get(path + "/avatar_url") == (200, avatar)

    status, body = await client.put(path + "/displayname", {"displayname": "X"}, other.token)
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    status, body = await client.put(path + "/avatar_url", {"avatar_url": "http://x"}, uma.token)
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")
    status, body = await client.put(path + "/displayname", {"displayname": 5}, uma.token)
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")
    status, body = await client.put(path + "/displayname", {"x": 1}, uma.token)
    assert (status, body["errcode"]) == (400, "M_MISSING_PARAM")
    status, body = await client.put(path + "/displayname", {"displayname": "X"})
    assert (status, body["errcode"]) == (401, "M_MISSING_TOKEN")

    assert (await client.delete(path + "/avatar_url", None, uma.token)) == (200, {})
    status, body = await client.get(path + "/avatar_url")
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = await client.get(V3 + "/profile/@nobody:localhost:8008")
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")


async def test_profile_change_calls_the_member_event_hook(client: Client, server: Any) -> None:
    seen: list[str] = []

    async def hook(_services: Any, user_id: str) -> None:
        seen.append(user_id)

    server.services.on_profile_changed = hook
    wes = await client.register("wes")
    path = V3 + f"/profile/{wes.user_id}/displayname"
    await client.put(path, {"displayname": "Wes"}, wes.token)
    await client.put(path, {"displayname": "Wes"}, wes.token)  # unchanged: no update
    assert seen == [wes.user_id]


async def test_threepids_and_unsupported_features(client: Client) -> None:
    xan = await client.register("xan")
    status, body = await client.get(V3 + "/account/3pid", xan.token)
    assert (status, body) == (200, {"threepids": []})
    assert_matches_spec("GET", V3 + "/account/3pid", status, body)
    assert await client.get(V3 + "/thirdparty/protocols", xan.token) == (200, {})
    assert await client.get(V3 + "/voip/turnServer", xan.token) == (200, {})
    status, body = await client.get(V3 + "/room_keys/version", xan.token)
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = await client.get("/_matrix/client/v1/auth_metadata")
    assert (status, body["errcode"]) == (404, "M_UNRECOGNIZED")


async def test_deactivated_users_leave_their_rooms(client: Client) -> None:
    owner = await client.register("owner")
    leaver = await client.register("leaver")
    status, body = await client.post(V3 + "/createRoom", {"preset": "public_chat"}, owner.token)
    assert status == 200, body
    room_id = body["room_id"]
    assert (await client.post(V3 + f"/rooms/{room_id}/join", {}, leaver.token))[0] == 200
    members = V3 + f"/rooms/{room_id}/joined_members"
    assert set((await client.get(members, owner.token))[1]["joined"]) == {
        owner.user_id,
        leaver.user_id,
    }
    body = {"auth": password_auth(leaver)}
    assert (await client.post(V3 + "/account/deactivate", body, leaver.token))[0] == 200
    assert set((await client.get(members, owner.token))[1]["joined"]) == {owner.user_id}
