"""/sync with a real client library (matrix-nio): its models parse our responses
and its room state follows the conversation."""

from __future__ import annotations

from nio import AsyncClient, RoomMessageText, SyncResponse

from tests.e2e.harness import Client, Server
from tests.e2e.test_sync_http import create_room, join, send


async def test_matrix_nio_syncs_messages_typing_receipts_and_names(
    client: Client, server: Server
) -> None:
    alice, bob = await client.register(), await client.register()
    room = await create_room(client, alice, preset="public_chat", name="nio sync")
    await join(client, bob, room)
    await send(client, alice, room, "hello nio")
    nio = AsyncClient(server.base_url, bob.user_id)
    nio.restore_login(bob.user_id, bob.device_id, bob.token)
    try:
        first = await nio.sync(timeout=0, full_state=True)
        assert isinstance(first, SyncResponse), first
        assert nio.rooms[room].name == "nio sync"
        assert set(nio.rooms[room].users) == {alice.user_id, bob.user_id}
        events = first.rooms.join[room].timeline.events
        assert any(isinstance(e, RoomMessageText) and e.body == "hello nio" for e in events)

        await nio.room_typing(room, typing_state=True, timeout=30000)
        event_id = await send(client, alice, room, "second")
        await nio.room_read_markers(room, fully_read_event=event_id, read_event=event_id)
        second = await nio.sync(timeout=3000)
        assert isinstance(second, SyncResponse), second
        timeline = second.rooms.join[room].timeline.events
        assert [e.body for e in timeline if isinstance(e, RoomMessageText)] == ["second"]
        assert (
            nio.rooms[room].typing_users == [bob.user_id]
            or bob.user_id in nio.rooms[room].typing_users
        )
        read_receipts = nio.rooms[room].read_receipts
        assert read_receipts[bob.user_id].event_id == event_id
    finally:
        await nio.close()
