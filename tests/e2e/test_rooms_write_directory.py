"""Aliases, the published room directory and profile changes in rooms, over HTTP;
and the everyday flow through a real client library (matrix-nio)."""

from __future__ import annotations

from nio import AsyncClient, JoinResponse, RoomCreateResponse, RoomSendResponse

from tests.e2e.harness import Client, Server
from tests.e2e.test_rooms_write import call, create, q, send


async def test_aliases(client: Client, server: Server) -> None:
    alice, bob = await client.register(), await client.register()
    alias = f"#lounge:{server.server_name}"
    room_id = await create(client, alice, preset="public_chat", room_alias_name="lounge")
    answer = await call(client, "GET", f"/directory/room/{q(alias)}", user=bob)
    assert answer == {"room_id": room_id, "servers": [server.server_name]}
    answer = await call(
        client, "POST", "/createRoom", {"room_alias_name": "lounge"}, user=bob, status=400
    )
    assert answer["errcode"] == "M_ROOM_IN_USE"

    other = f"#den:{server.server_name}"
    await call(client, "PUT", f"/directory/room/{q(other)}", {"room_id": room_id}, user=alice)
    await call(
        client, "PUT", f"/directory/room/{q(other)}", {"room_id": room_id}, user=alice, status=409
    )
    listed = await call(client, "GET", f"/rooms/{q(room_id)}/aliases", user=alice)
    assert sorted(listed["aliases"]) == sorted([alias, other])
    await call(client, "GET", f"/rooms/{q(room_id)}/aliases", user=bob, status=403)

    canonical = f"/rooms/{q(room_id)}/state/m.room.canonical_alias/"
    elsewhere = await create(client, bob, room_alias_name="bobs")
    del elsewhere
    bad = {"alias": alias, "alt_aliases": [f"#bobs:{server.server_name}"]}
    answer = await call(client, "PUT", canonical, bad, user=alice, status=400)
    assert answer["errcode"] == "M_BAD_ALIAS"
    await call(client, "PUT", canonical, {"alias": alias, "alt_aliases": [other]}, user=alice)

    await call(client, "POST", f"/join/{q(other)}", {}, user=bob)  # join by alias
    await call(client, "DELETE", f"/directory/room/{q(other)}", user=bob, status=403)
    await call(client, "DELETE", f"/directory/room/{q(other)}", user=alice)
    await call(client, "GET", f"/directory/room/{q(other)}", user=bob, status=404)
    answer = await call(client, "GET", f"/directory/room/{q('#x')}", user=bob, status=400)
    assert answer["errcode"] == "M_INVALID_PARAM"


async def test_published_room_directory(client: Client) -> None:
    alice, bob = await client.register(), await client.register()
    listed = await create(
        client,
        alice,
        visibility="public",
        name="Cheese lovers",
        topic="Brie",
        room_alias_name="cheese",
    )
    unlisted = await create(client, alice, preset="public_chat", name="Secret cheese")
    await call(client, "POST", f"/join/{q(listed)}", {}, user=bob)

    body = await call(client, "GET", "/publicRooms", user=bob)
    assert [c["room_id"] for c in body["chunk"]] == [listed]
    chunk = body["chunk"][0]
    assert chunk["name"] == "Cheese lovers" and chunk["topic"] == "Brie"
    assert chunk["num_joined_members"] == 2 and chunk["join_rule"] == "public"
    assert chunk["canonical_alias"].startswith("#cheese:")

    assert await call(client, "GET", f"/directory/list/room/{q(unlisted)}", user=bob) == {
        "visibility": "private"
    }
    await call(
        client,
        "PUT",
        f"/directory/list/room/{q(unlisted)}",
        {"visibility": "public"},
        user=bob,
        status=403,
    )
    await call(
        client, "PUT", f"/directory/list/room/{q(unlisted)}", {"visibility": "public"}, user=alice
    )
    assert await call(client, "GET", f"/directory/list/room/{q(unlisted)}", user=bob) == {
        "visibility": "public"
    }
    found = await call(
        client, "POST", "/publicRooms", {"filter": {"generic_search_term": "secret"}}, user=bob
    )
    assert [c["room_id"] for c in found["chunk"]] == [unlisted]
    page = await call(client, "POST", "/publicRooms", {"limit": 1}, user=bob)
    assert len(page["chunk"]) == 1 and "next_batch" in page
    rest = await call(
        client, "POST", "/publicRooms", {"limit": 1, "since": page["next_batch"]}, user=bob
    )
    assert {page["chunk"][0]["room_id"], rest["chunk"][0]["room_id"]} == {listed, unlisted}
    await call(client, "GET", f"/directory/list/room/{q('!nowhere:x')}", user=bob, status=404)


async def test_profile_changes_reach_the_member_events(client: Client) -> None:
    alice = await client.register()
    rooms = [await create(client, alice) for _ in range(2)]
    path = f"/profile/{q(alice.user_id)}/displayname"
    await call(client, "PUT", path, {"displayname": "Alice Liddell"}, user=alice)
    for room_id in rooms:
        member = await call(
            client, "GET", f"/rooms/{q(room_id)}/state/m.room.member/{q(alice.user_id)}", user=alice
        )
        assert member["displayname"] == "Alice Liddell"
        assert member["membership"] == "join"
    fresh = await create(client, alice)
    member = await call(
        client, "GET", f"/rooms/{q(fresh)}/state/m.room.member/{q(alice.user_id)}", user=alice
    )
    assert member == {"membership": "join", "displayname": "Alice Liddell"}


async def test_matrix_nio_creates_joins_and_sends(server: Server, client: Client) -> None:
    alice = AsyncClient(server.base_url, "alice")
    bob = AsyncClient(server.base_url, "bob")
    try:
        for nio, name in ((alice, "alice"), (bob, "bob")):
            registered = await nio.register(name, "correct horse battery", device_name=name)
            assert registered.user_id == server.user_id(name), registered  # type: ignore[union-attr]
        created = await alice.room_create(name="nio room", invite=[server.user_id("bob")])
        assert isinstance(created, RoomCreateResponse), created
        joined = await bob.join(created.room_id)
        assert isinstance(joined, JoinResponse), joined
        sent = await bob.room_send(
            created.room_id, "m.room.message", {"msgtype": "m.text", "body": "hi from nio"}
        )
        assert isinstance(sent, RoomSendResponse), sent
        alice_user = await client.login(server.user_id("alice"), "correct horse battery")
        event = await call(
            client, "GET", f"/rooms/{q(created.room_id)}/event/{q(sent.event_id)}", user=alice_user
        )
        assert event["content"]["body"] == "hi from nio"
        again = await send(client, alice_user, created.room_id, "and back", "n1")
        assert again.startswith("$")
    finally:
        await alice.close()
        await bob.close()
