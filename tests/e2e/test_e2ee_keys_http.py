"""Device keys, one-time and fallback keys over HTTP, on both profiles: upload,
query, claim (also racing), counts in sync, bad input, device deletion."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from tessera.kernel.signing import sign_json
from tests.e2e.e2ee_kit import V3, device_keys, one_time_keys, sync, upload
from tests.e2e.harness import Client, Server, ServerFactory, User
from tests.openapi import assert_matches_spec


async def claim(
    client: Client, user: User, target: User, algorithm: str = "signed_curve25519"
) -> Any:
    body = {"one_time_keys": {target.user_id: {target.device_id: algorithm}}}
    status, answer = await client.post(f"{V3}/keys/claim", body, token=user.token)
    assert status == 200, answer
    assert_matches_spec("POST", "/_matrix/client/v3/keys/claim", status, answer)
    return answer["one_time_keys"].get(target.user_id, {}).get(target.device_id)


def password_auth(user: User) -> dict[str, Any]:
    identifier = {"type": "m.id.user", "user": user.user_id}
    return {"type": "m.login.password", "identifier": identifier, "password": user.password}


async def query(client: Client, user: User, *targets: str) -> dict[str, Any]:
    body = {"device_keys": {t: [] for t in targets}}
    status, answer = await client.post(f"{V3}/keys/query", body, token=user.token)
    assert status == 200, answer
    assert_matches_spec("POST", "/_matrix/client/v3/keys/query", status, answer)
    return dict(answer)


async def test_upload_query_claim_then_fallback(client: Client) -> None:
    alice, bob = await client.register(), await client.register()
    keys, signer = device_keys(alice)
    body = {
        "device_keys": keys,
        "one_time_keys": one_time_keys(alice, signer, 3),
        "fallback_keys": one_time_keys(alice, signer, 1, start=100, fallback=True),
    }
    status, answer = await upload(client, alice, body)
    assert status == 200, answer
    assert_matches_spec("POST", "/_matrix/client/v3/keys/upload", status, answer)
    assert answer["one_time_key_counts"] == {"signed_curve25519": 3}
    assert (await upload(client, alice, body))[1]["one_time_key_counts"]["signed_curve25519"] == 3

    seen = await query(client, bob, alice.user_id)
    assert seen["device_keys"][alice.user_id][alice.device_id]["keys"] == keys["keys"]
    assert seen["device_keys"][alice.user_id][alice.device_id]["signatures"] == keys["signatures"]
    assert "user_signing_keys" not in seen or alice.user_id not in seen["user_signing_keys"]

    claimed = [await claim(client, bob, alice) for _ in range(3)]
    ids = [next(iter(c)) for c in claimed]
    assert ids == [
        "signed_curve25519:K00000",
        "signed_curve25519:K00001",
        "signed_curve25519:K00002",
    ]
    counts = await sync(client, alice)
    assert counts["device_one_time_keys_count"] == {"signed_curve25519": 0}
    assert counts["device_unused_fallback_key_types"] == ["signed_curve25519"]
    fallback = await claim(client, bob, alice)
    assert list(fallback) == ["signed_curve25519:K00100"]
    assert fallback["signed_curve25519:K00100"]["fallback"] is True
    assert await claim(client, bob, alice) == fallback  # a used fallback key is given again
    after = await sync(client, alice)
    assert after["device_unused_fallback_key_types"] == []
    assert await claim(client, bob, alice, "other_algorithm") is None


async def test_bad_input_is_refused_and_changes_nothing(client: Client) -> None:
    alice, bob = await client.register(), await client.register()
    keys, signer = device_keys(alice)
    unsigned = {k: v for k, v in keys.items() if k != "signatures"}
    other_signer = device_keys(alice)[1]
    wrongly = sign_json(unsigned, alice.user_id, other_signer)
    bobs, _ = device_keys(bob)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"device_keys": unsigned}, 400, "M_INVALID_SIGNATURE"),
        ({"device_keys": wrongly}, 400, "M_INVALID_SIGNATURE"),
        ({"device_keys": bobs}, 400, "M_INVALID_PARAM"),
        ({"device_keys": {**keys, "device_id": "OTHERDEVICE"}}, 400, "M_INVALID_PARAM"),
        ({"one_time_keys": {"no colon": "abc"}}, 400, "M_INVALID_PARAM"),
        ({"one_time_keys": {"signed_curve25519:": "abc"}}, 400, "M_INVALID_PARAM"),
        ({"one_time_keys": {"signed_curve25519:A B": "abc"}}, 400, "M_INVALID_PARAM"),
        ({"one_time_keys": {"signed_curve25519:x": 5}}, 400, "M_BAD_JSON"),
        ({"device_keys": keys, "one_time_keys": {"x:1": "k", "bad": "k"}}, 400, "M_INVALID_PARAM"),
        ({"one_time_keys": {f"curve25519:{i}": "k" for i in range(1001)}}, 413, "M_TOO_LARGE"),
    ]
    for body, status, errcode in cases:
        got, answer = await upload(client, alice, body)
        assert (got, answer.get("errcode")) == (status, errcode), (body, answer)
    got, answer = await upload(
        client, alice, {"one_time_keys": {"k:" + "x" * 200_000: "y" * 900_000}}
    )
    assert (got, answer["errcode"]) == (413, "M_TOO_LARGE")
    assert (await query(client, bob, alice.user_id))["device_keys"][alice.user_id] == {}
    assert (await sync(client, alice))["device_one_time_keys_count"] == {"signed_curve25519": 0}

    # A key ID already used for another key is refused; the stored key stays.
    first = one_time_keys(alice, signer, 1)
    assert (await upload(client, alice, {"device_keys": keys, "one_time_keys": first}))[0] == 200
    again = one_time_keys(alice, signer, 1)
    assert (await upload(client, alice, {"one_time_keys": again}))[0] == 400
    # Once the device's key is known, one-time keys must carry its signature.
    forged = one_time_keys(alice, other_signer, 1, start=7)
    got, answer = await upload(client, alice, {"one_time_keys": forged})
    assert (got, answer["errcode"]) == (400, "M_INVALID_SIGNATURE")
    assert await claim(client, bob, alice) == first


async def test_fifty_racing_claims_hand_out_each_key_once_then_the_fallback(
    client: Client, server: Server, start_server: ServerFactory, profile: str
) -> None:
    alice = await client.register()
    keys, signer = device_keys(alice)
    body = {
        "device_keys": keys,
        "one_time_keys": one_time_keys(alice, signer, 10),
        "fallback_keys": one_time_keys(alice, signer, 1, start=500, fallback=True),
    }
    assert (await upload(client, alice, body))[0] == 200
    claimers = [await client.register() for _ in range(5)]
    clients = [client]
    if profile == "scale":  # a second process on the same log takes half the claims
        other = await start_server()
        clients.append(Client(client.session, other.base_url))
    results = await asyncio.gather(
        *(claim(clients[i % len(clients)], claimers[i % 5], alice) for i in range(50))
    )
    ids = [next(iter(r)) for r in results]
    one_time = [i for i in ids if i != "signed_curve25519:K00500"]
    assert sorted(one_time) == sorted(body["one_time_keys"]), ids
    assert ids.count("signed_curve25519:K00500") == 40
    assert (await sync(client, alice))["device_one_time_keys_count"]["signed_curve25519"] == 0


async def test_deleting_a_device_deletes_its_keys_and_messages(
    client: Client, server: Server
) -> None:
    alice, bob = await client.register(), await client.register()
    second = await client.login(alice.user_id)
    keys, signer = device_keys(second)
    body = {"device_keys": keys, "one_time_keys": one_time_keys(second, signer, 2)}
    assert (await upload(client, second, body))[0] == 200
    txn = secrets.token_hex(4)
    messages = {"messages": {alice.user_id: {second.device_id: {"hi": 1}}}}
    assert (await client.put(f"{V3}/sendToDevice/m.test/{txn}", messages, token=bob.token))[
        0
    ] == 200
    status, answer = await client.delete(
        f"{V3}/devices/{second.device_id}",
        {"auth": password_auth(alice)},
        token=alice.token,
    )
    assert status == 200, answer
    assert (await query(client, bob, alice.user_id))["device_keys"][alice.user_id] == {}
    assert await claim(client, bob, second) is None
    inbox = server.services.readdb.iter_rows(
        "SELECT position FROM to_device_inbox WHERE user_id = ? AND device_id = ?",
        (alice.user_id, second.device_id),
    )
    assert list(inbox) == []
    # The same device ID logging in again starts without the old keys.
    again = await client.login(alice.user_id, device_id=second.device_id)
    assert (await sync(client, again))["device_one_time_keys_count"] == {"signed_curve25519": 0}
    assert await claim(client, bob, again) is None
