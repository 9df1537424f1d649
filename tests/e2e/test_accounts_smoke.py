"""The harness works on both profiles, and a real client library talks to the server."""

from __future__ import annotations

from nio import AsyncClient, LoginResponse, RegisterResponse, WhoamiResponse

from tests.e2e.harness import Client, Server


async def test_register_and_whoami(client: Client) -> None:
    alice = await client.register("alice")
    status, body = await client.get("/_matrix/client/v3/account/whoami", token=alice.token)
    assert status == 200
    assert body == {"user_id": alice.user_id, "device_id": alice.device_id, "is_guest": False}


async def test_matrix_nio_registers_logs_in_and_asks_whoami(server: Server) -> None:
    nio = AsyncClient(server.base_url, "bob")
    try:
        registered = await nio.register("bob", "hunter2 hunter2", device_name="nio")
        assert isinstance(registered, RegisterResponse), registered
        assert registered.user_id == server.user_id("bob")

        nio2 = AsyncClient(server.base_url, server.user_id("bob"))
        try:
            login = await nio2.login("hunter2 hunter2", device_name="second")
            assert isinstance(login, LoginResponse), login
            assert login.device_id != registered.device_id
            whoami = await nio2.whoami()
            assert isinstance(whoami, WhoamiResponse), whoami
            assert whoami.user_id == server.user_id("bob")
            assert whoami.device_id == login.device_id
        finally:
            await nio2.close()
    finally:
        await nio.close()
