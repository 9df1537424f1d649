"""End-to-end encryption with a real crypto client: matrix-nio with vodozemac
(Olm/Megolm). Device keys, one-time key claims and to-device messages go through
this server exactly as a client's would; the test only passes if each side
decrypts what the other encrypted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from nio import AsyncClient, AsyncClientConfig, MegolmEvent, RoomMessageText, SyncResponse

from tests.e2e.harness import Client, Server, User
from tests.e2e.test_sync_http import join

ENCRYPTED = [
    {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}
]


@asynccontextmanager
async def crypto_client(server: Server, user: User, store: Path) -> AsyncIterator[AsyncClient]:
    await asyncio.to_thread(store.mkdir, parents=True, exist_ok=True)
    config = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False)
    nio = AsyncClient(
        server.base_url,
        user.user_id,
        device_id=user.device_id,
        store_path=str(store),
        config=config,
    )
    nio.restore_login(user.user_id, user.device_id, user.token)
    try:
        yield nio
    finally:
        await nio.close()


async def step(nio: AsyncClient, wait_ms: int = 0) -> SyncResponse:
    """One sync and the key housekeeping a client does after it."""
    answer = await nio.sync(timeout=wait_ms)
    assert isinstance(answer, SyncResponse), answer
    if nio.should_upload_keys:
        await nio.keys_upload()
    if nio.should_query_keys:
        await nio.keys_query()
    if nio.should_claim_keys:
        await nio.keys_claim(nio.get_users_for_key_claiming())
    return answer


async def texts_until(
    nio: AsyncClient, room_id: str, wanted: Callable[[list[str]], bool], tries: int = 6
) -> list[str]:
    """Decrypted bodies seen in the room over a few syncs, until ``wanted`` holds."""
    seen: list[str] = []
    for _ in range(tries):
        answer = await step(nio, wait_ms=2000)
        room = answer.rooms.join.get(room_id)
        for event in room.timeline.events if room else []:
            if isinstance(event, RoomMessageText):
                seen.append(event.body)
            assert not isinstance(event, MegolmEvent), f"undecryptable: {event}"
        if wanted(seen):
            return seen
    return seen


async def send_text(nio: AsyncClient, room_id: str, text: str) -> None:
    await step(nio)  # learn the members' devices before encrypting for them
    answer = await nio.room_send(
        room_id,
        "m.room.message",
        {"msgtype": "m.text", "body": text},
        ignore_unverified_devices=True,
    )
    assert hasattr(answer, "event_id"), answer


async def test_two_users_and_a_second_device_decrypt_each_other(
    server: Server, client: Client, tmp_path: Path
) -> None:
    alice, bob = await client.register(), await client.register()
    status, created = await client.post(
        "/_matrix/client/v3/createRoom",
        {"invite": [bob.user_id], "initial_state": ENCRYPTED},
        token=alice.token,
    )
    assert status == 200, created
    room_id = created["room_id"]
    await join(client, bob, room_id)
    async with (
        crypto_client(server, alice, tmp_path / "alice") as a,
        crypto_client(server, bob, tmp_path / "bob") as b,
    ):
        await step(a)
        await step(b)
        await send_text(a, room_id, "hello bob, encrypted")
        got = await texts_until(b, room_id, lambda s: "hello bob, encrypted" in s)
        assert "hello bob, encrypted" in got
        await send_text(b, room_id, "hello alice, encrypted too")
        got = await texts_until(a, room_id, lambda s: "hello alice, encrypted too" in s)
        assert "hello alice, encrypted too" in got

        # Bob logs in on a second device: alice's client sees the device list
        # change, shares its session with the new device, which decrypts.
        bob2 = await client.login(bob.user_id)
        async with crypto_client(server, bob2, tmp_path / "bob2") as b2:
            await step(b2)
            await step(b2)
            for _ in range(3):
                await step(a, wait_ms=1000)
                if bob2.device_id in {
                    d.id for d in a.device_store.active_user_devices(bob.user_id)
                }:
                    break
            await send_text(a, room_id, "for both of bob's devices")
            got = await texts_until(b2, room_id, lambda s: "for both of bob's devices" in s)
            assert "for both of bob's devices" in got
            got = await texts_until(b, room_id, lambda s: "for both of bob's devices" in s)
            assert "for both of bob's devices" in got
    # What the server stored is ciphertext only.
    status, page = await client.get(
        f"/_matrix/client/v3/rooms/{room_id}/messages",
        token=alice.token,
        params={"dir": "b", "limit": "50"},
    )
    assert status == 200, page
    sent = [e for e in page["chunk"] if e["sender"] in (alice.user_id, bob.user_id)]
    kinds = [e["type"] for e in sent if e["type"] in ("m.room.message", "m.room.encrypted")]
    assert kinds == ["m.room.encrypted"] * 3, kinds
