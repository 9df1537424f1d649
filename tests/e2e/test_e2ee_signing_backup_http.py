"""Cross-signing, signature uploads and key backup over HTTP, on both profiles."""

from __future__ import annotations

import copy
from typing import Any

from tessera.kernel.signing import sign_json
from tests.e2e.e2ee_kit import (
    V3,
    cross_signing_body,
    cross_signing_key,
    device_keys,
    public_key,
    upload,
)
from tests.e2e.harness import Client, User
from tests.e2e.test_e2ee_keys_http import password_auth, query
from tests.openapi import assert_matches_spec

SIGNING = "/keys/device_signing/upload"


async def publish_cross_signing(client: Client, user: User, prefix: str = V3) -> dict[str, Any]:
    master, ssk, usk = cross_signing_key(), cross_signing_key(), cross_signing_key()
    body = {
        "master_key": cross_signing_body(user.user_id, "master", master),
        "self_signing_key": cross_signing_body(user.user_id, "self_signing", ssk, master),
        "user_signing_key": cross_signing_body(user.user_id, "user_signing", usk, master),
    }
    status, answer = await client.post(prefix + SIGNING, body, token=user.token)
    assert status == 200, answer
    return {"master": master, "ssk": ssk, "usk": usk, "body": body}


async def test_cross_signing_publish_replace_and_sign(client: Client) -> None:
    alice, bob, carol = [await client.register() for _ in range(3)]
    keys, _ = device_keys(alice)
    assert (await upload(client, alice, {"device_keys": keys}))[0] == 200
    # First upload needs no UIA (through the unstable alias older clients call).
    cs = await publish_cross_signing(client, alice, "/_matrix/client/unstable")
    seen = await query(client, bob, alice.user_id)
    assert seen["master_keys"][alice.user_id]["keys"] == cs["body"]["master_key"]["keys"]
    assert alice.user_id in seen["self_signing_keys"]
    assert alice.user_id not in seen.get("user_signing_keys", {})
    assert alice.user_id in (await query(client, alice, alice.user_id))["user_signing_keys"]

    # Replacing the master key asks for the password.
    other = cross_signing_key()
    body = {"master_key": cross_signing_body(alice.user_id, "master", other)}
    status, answer = await client.post(V3 + SIGNING, body, token=alice.token)
    assert status == 401 and answer["flows"] == [{"stages": ["m.login.password"]}], answer
    # A self-signing key not signed by the master key is refused, whatever the auth.
    bad = {"self_signing_key": cross_signing_body(alice.user_id, "self_signing", other)}
    status, answer = await client.post(V3 + SIGNING, bad, token=alice.token)
    assert (status, answer["errcode"]) == (400, "M_INVALID_SIGNATURE")

    # Alice signs her device with her self-signing key: everyone sees it.
    signed = sign_json(copy.deepcopy(keys), alice.user_id, cs["ssk"])
    status, answer = await client.post(
        f"{V3}/keys/signatures/upload",
        {alice.user_id: {alice.device_id: signed}},
        token=alice.token,
    )
    assert status == 200 and answer["failures"] == {}, answer
    assert_matches_spec("POST", "/_matrix/client/v3/keys/signatures/upload", status, answer)
    device = (await query(client, bob, alice.user_id))["device_keys"][alice.user_id][
        alice.device_id
    ]
    assert (
        device["signatures"][alice.user_id][cs["ssk"].key_id]
        == signed["signatures"][alice.user_id][cs["ssk"].key_id]
    )

    # Bob signs alice's master key with his user-signing key: only bob sees that.
    bobs = await publish_cross_signing(client, bob)
    master = copy.deepcopy(cs["body"]["master_key"])
    master_id = public_key(cs["master"])
    forged = sign_json(master, bob.user_id, cross_signing_key())
    status, answer = await client.post(
        f"{V3}/keys/signatures/upload", {alice.user_id: {master_id: forged}}, token=bob.token
    )
    assert answer["failures"][alice.user_id][master_id]["errcode"] == "M_INVALID_SIGNATURE"
    good = sign_json(master, bob.user_id, bobs["usk"])
    status, answer = await client.post(
        f"{V3}/keys/signatures/upload",
        {alice.user_id: {master_id: good, "NOSUCHKEY": good}},
        token=bob.token,
    )
    assert status == 200 and list(answer["failures"][alice.user_id]) == ["NOSUCHKEY"], answer
    by_bob = (await query(client, bob, alice.user_id))["master_keys"][alice.user_id]
    assert bobs["usk"].key_id in by_bob["signatures"][bob.user_id]
    by_carol = (await query(client, carol, alice.user_id))["master_keys"][alice.user_id]
    assert bob.user_id not in by_carol.get("signatures", {})

    # With the password, the master key is replaced.
    body["auth"] = password_auth(alice)
    status, answer = await client.post(V3 + SIGNING, body, token=alice.token)
    assert status == 200, answer
    now = (await query(client, bob, alice.user_id))["master_keys"][alice.user_id]
    assert now["keys"] == {other.key_id: public_key(other)}


def session(index: int, verified: bool = False, forwarded: int = 0) -> dict[str, Any]:
    return {
        "first_message_index": index,
        "forwarded_count": forwarded,
        "is_verified": verified,
        "session_data": {
            "ciphertext": f"c{index}{verified}{forwarded}",
            "mac": "m",
            "ephemeral": "e",
        },
    }


async def test_key_backup_versions_keys_etag_count_and_better_sessions(client: Client) -> None:
    alice = await client.register()
    tok = alice.token
    status, answer = await client.get(f"{V3}/room_keys/version", token=tok)
    assert (status, answer["errcode"]) == (404, "M_NOT_FOUND")
    auth_data = {"public_key": "abc", "signatures": {}}
    algorithm = "m.megolm_backup.v1.curve25519-aes-sha2"
    status, created = await client.post(
        f"{V3}/room_keys/version", {"algorithm": algorithm, "auth_data": auth_data}, token=tok
    )
    assert status == 200, created
    version = created["version"]
    status, current = await client.get(f"{V3}/room_keys/version", token=tok)
    assert status == 200, current
    assert_matches_spec("GET", "/_matrix/client/v3/room_keys/version", status, current)
    assert (current["version"], current["count"]) == (version, 0)

    q = {"version": version}
    room = "!r:x"
    status, put = await client.put(
        f"{V3}/room_keys/keys",
        {"rooms": {room: {"sessions": {"s1": session(5), "s2": session(0)}}}},
        token=tok,
        params=q,
    )
    assert status == 200 and put["count"] == 2, put
    etag = put["etag"]
    # Worse keys change nothing (same etag); better ones replace.
    _, same = await client.put(f"{V3}/room_keys/keys/{room}/s1", session(9), token=tok, params=q)
    assert same == {"etag": etag, "count": 2}
    _, better = await client.put(
        f"{V3}/room_keys/keys/{room}",
        {"sessions": {"s1": session(9, verified=True)}},
        token=tok,
        params=q,
    )
    assert better["etag"] != etag and better["count"] == 2
    status, got = await client.get(f"{V3}/room_keys/keys/{room}/s1", token=tok, params=q)
    assert status == 200 and got == session(9, verified=True), got
    _, worse = await client.put(f"{V3}/room_keys/keys/{room}/s1", session(1), token=tok, params=q)
    assert worse["etag"] == better["etag"]
    status, everything = await client.get(f"{V3}/room_keys/keys", token=tok, params=q)
    assert status == 200 and set(everything["rooms"][room]["sessions"]) == {"s1", "s2"}

    # A new version becomes current: the old one refuses new keys.
    _, second = await client.post(
        f"{V3}/room_keys/version", {"algorithm": algorithm, "auth_data": auth_data}, token=tok
    )
    status, answer = await client.put(
        f"{V3}/room_keys/keys/{room}/s3", session(0), token=tok, params=q
    )
    assert (status, answer["errcode"], answer["current_version"]) == (
        403,
        "M_WRONG_ROOM_KEYS_VERSION",
        second["version"],
    )
    status, answer = await client.put(
        f"{V3}/room_keys/keys/{room}/s3", {"x": 1}, token=tok, params=q
    )
    assert (status, answer["errcode"]) == (400, "M_BAD_JSON")
    status, _ = await client.put(
        f"{V3}/room_keys/version/{version}",
        {"algorithm": algorithm, "auth_data": {"public_key": "new"}},
        token=tok,
    )
    assert status == 200
    _, old = await client.get(f"{V3}/room_keys/version/{version}", token=tok)
    assert old["auth_data"] == {"public_key": "new"} and old["count"] == 2

    status, deleted = await client.delete(f"{V3}/room_keys/keys/{room}/s2", token=tok, params=q)
    assert status == 200 and deleted["count"] == 1
    assert (await client.delete(f"{V3}/room_keys/version/{version}", token=tok))[0] == 200
    status, answer = await client.get(f"{V3}/room_keys/version/{version}", token=tok)
    assert (status, answer["errcode"]) == (404, "M_NOT_FOUND")
    status, answer = await client.get(f"{V3}/room_keys/keys", token=tok, params=q)
    assert status == 404
    status, answer = await client.get("/_matrix/client/unstable/room_keys/version", token=tok)
    assert status == 200 and answer["version"] == second["version"]
