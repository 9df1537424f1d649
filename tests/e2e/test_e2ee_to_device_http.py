"""To-device messages and device-list changes over HTTP, on both profiles."""

from __future__ import annotations

import asyncio
import time

from tests.e2e.e2ee_kit import V3, device_keys, sync, upload
from tests.e2e.harness import Client, User
from tests.e2e.test_sync_http import create_room, join
from tests.openapi import assert_matches_spec


async def send_to_device(
    client: Client, sender: User, txn: str, messages: dict[str, dict[str, object]]
) -> None:
    path = f"{V3}/sendToDevice/m.test/{txn}"
    status, answer = await client.put(path, {"messages": messages}, token=sender.token)
    assert status == 200, answer
    assert_matches_spec(
        "PUT", "/_matrix/client/v3/sendToDevice/{eventType}/{txnId}", status, answer
    )


def contents(body: dict[str, object]) -> list[object]:
    events = body["to_device"]["events"]  # type: ignore[index]
    return [e["content"] for e in events]  # type: ignore[index, union-attr]


async def test_a_dropped_sync_response_loses_nothing_and_acks_delete(client: Client) -> None:
    alice, bob = await client.register(), await client.register()
    start = (await sync(client, bob))["next_batch"]
    await send_to_device(client, alice, "t1", {bob.user_id: {bob.device_id: {"n": 1}}})
    await send_to_device(client, alice, "t1", {bob.user_id: {bob.device_id: {"n": 1}}})  # retry
    first = await sync(client, bob, start)
    assert contents(first) == [{"n": 1}]
    assert first["to_device"]["events"][0] == {
        "sender": alice.user_id,
        "type": "m.test",
        "content": {"n": 1},
    }
    # The response is lost: the client syncs again from the same token.
    again = await sync(client, bob, start)
    assert contents(again) == [{"n": 1}]
    # The next sync, from the new token, acknowledges: nothing is delivered twice,
    # not even to a client that goes back to the old token afterwards.
    await send_to_device(client, alice, "t2", {bob.user_id: {"*": {"n": 2}}})
    later = await sync(client, bob, again["next_batch"])
    assert contents(later) == [{"n": 2}]
    assert contents(await sync(client, bob, later["next_batch"])) == []
    assert contents(await sync(client, bob, start)) == []
    assert contents(await sync(client, bob)) == []


async def test_star_reaches_every_device_and_wakes_a_long_poll(client: Client) -> None:
    alice, bob = await client.register(), await client.register()
    bob2 = await client.login(bob.user_id)
    since = (await sync(client, bob2))["next_batch"]

    async def later() -> None:
        await asyncio.sleep(0.3)
        await send_to_device(client, alice, "star", {bob.user_id: {"*": {"all": True}}})

    began = time.monotonic()
    sender = asyncio.ensure_future(later())
    woke = await sync(client, bob2, since, timeout="10000")
    await sender
    assert contents(woke) == [{"all": True}]
    assert time.monotonic() - began < 5
    assert contents(await sync(client, bob)) == [{"all": True}]
    # Unknown devices and remote users are skipped; bad shapes are refused.
    await send_to_device(client, alice, "x", {bob.user_id: {"NOPE": {}}, "@z:elsewhere": {"*": {}}})
    status, answer = await client.put(
        f"{V3}/sendToDevice/m.test/bad",
        {"messages": {bob.user_id: {"D": "text"}}},
        token=alice.token,
    )
    assert (status, answer["errcode"]) == (400, "M_BAD_JSON")


async def test_device_lists_follow_key_changes_and_shared_rooms(client: Client) -> None:
    alice, bob = await client.register(), await client.register()
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    since = (await sync(client, alice))["next_batch"]
    keys, _ = device_keys(bob)
    assert (await upload(client, bob, {"device_keys": keys}))[0] == 200
    body = await sync(client, alice, since)
    assert bob.user_id in body["device_lists"]["changed"]
    status, changes = await client.get(
        f"{V3}/keys/changes", token=alice.token, params={"from": since, "to": body["next_batch"]}
    )
    assert status == 200, changes
    assert_matches_spec("GET", "/_matrix/client/v3/keys/changes", status, changes)
    assert bob.user_id in changes["changed"]
    # A stranger's keys are none of alice's business.
    carol = await client.register()
    since = body["next_batch"]
    assert (await upload(client, carol, {"device_keys": device_keys(carol)[0]}))[0] == 200
    assert carol.user_id not in (await sync(client, alice, since))["device_lists"]["changed"]
    # Bob leaves the only room they shared: he is in "left".
    status, _ = await client.post(f"{V3}/rooms/{room}/leave", {}, token=bob.token)
    assert status == 200
    body = await sync(client, alice, since)
    assert bob.user_id in body["device_lists"]["left"]
    assert bob.user_id not in body["device_lists"]["changed"]
