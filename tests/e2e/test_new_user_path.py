"""A new user's path from the README alone (issue 3, "What it must show" 4).

The README's first lines are the two commands; ``make run`` starts
``tessera serve`` on a fresh data directory. This test runs that very command
line (read from the Makefile, with a free port instead of 8008 and a temporary
data directory) as a subprocess, then two people use it through matrix-nio as a
client application would: register, create a room, invite, see the invite,
join, chat with each message arriving live on the other's long-polling sync,
redact, rename the room and change its topic.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nio import (
    AsyncClient,
    JoinResponse,
    RedactionEvent,
    RegisterResponse,
    RoomCreateResponse,
    RoomMessageText,
    RoomNameEvent,
    RoomSendResponse,
    RoomTopicEvent,
    SyncResponse,
)

from tests.conftest import REPO
from tests.e2e.harness import wait_until_serving

PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_run_command() -> list[str]:
    """The command ``make run`` runs, as the Makefile spells it."""
    text = (REPO / "Makefile").read_text()
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", text, re.MULTILINE)
    assert recipe, "the Makefile has a run target"
    lines = [line.strip() for line in recipe.group(1).splitlines()]
    assert len(lines) == 1, lines
    return shlex.split(lines[0].replace("$(BIN)", str(REPO / ".venv" / "bin")))


def test_the_readme_opens_with_the_two_commands() -> None:
    lines = (REPO / "README.md").read_text().splitlines()
    first_block = lines[lines.index("```") + 1 :]
    first_block = first_block[: first_block.index("```")]
    assert [line.split("#")[0].strip() for line in first_block] == ["make run", "make test"]
    assert lines.index("```") <= 3, "the commands come first"
    command = make_run_command()
    assert command[0].endswith("/tessera") and command[1] == "serve", command
    flags = dict(zip(command[2::2], command[3::2], strict=False))
    assert flags["--listen"] == "127.0.0.1:8008"
    assert flags["--server-name"] == "localhost:8008"


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """``make run``'s command on a free port and a fresh data directory:
    the base URL and the server name."""
    port = free_port()
    command = [
        arg.replace("8008", str(port)) if "8008" in arg else arg for arg in make_run_command()
    ]
    command[command.index("--data-dir") + 1] = str(tmp_path / "data")
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *command, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, env=os.environ
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        await wait_until_serving(base_url, process, log_path, 30)
        assert (tmp_path / "data" / "signing.key").exists(), "the key is made on first start"
        yield base_url, f"localhost:{port}"
    finally:
        if process.returncode is None:
            process.terminate()
        try:
            code = await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        assert code == 0, "a clean stop on SIGTERM:\n" + log_path.read_text()


async def register(base_url: str, name: str) -> AsyncClient:
    nio = AsyncClient(base_url, name)
    registered = await nio.register(name, PASSWORD, device_name=f"{name}'s laptop")
    assert isinstance(registered, RegisterResponse), registered
    return nio


async def synced(nio: AsyncClient, **kw: object) -> SyncResponse:
    response = await nio.sync(**kw)  # type: ignore[arg-type]
    assert isinstance(response, SyncResponse), response
    return response


async def live(poll: asyncio.Task[SyncResponse], within: float = 5.0) -> SyncResponse:
    """The result of a long-poll started before the event it should deliver."""
    return await asyncio.wait_for(poll, within)


def long_poll(nio: AsyncClient) -> asyncio.Task[SyncResponse]:
    return asyncio.ensure_future(synced(nio, timeout=10_000))


async def test_two_people_meet_and_chat_live(served: tuple[str, str]) -> None:
    base_url, server_name = served
    alice = await register(base_url, "alice")
    bob = await register(base_url, "bob")
    try:
        assert alice.user_id == f"@alice:{server_name}"
        await synced(alice, timeout=0, full_state=True)
        await synced(bob, timeout=0, full_state=True)

        bobs_poll = long_poll(bob)
        created = await alice.room_create(name="Tea", topic="Brewing", invite=[bob.user_id])
        assert isinstance(created, RoomCreateResponse), created
        room = created.room_id
        invited = await live(bobs_poll)
        assert room in invited.rooms.invite
        assert bob.invited_rooms[room].name == "Tea"
        joined = await bob.join(room)
        assert isinstance(joined, JoinResponse), joined
        await synced(alice, timeout=0)
        await synced(bob, timeout=0)

        # Each one's message reaches the other while they are long-polling.
        for sender, receiver, text in ((alice, bob, "hello Bob"), (bob, alice, "hi Alice")):
            poll = long_poll(receiver)
            await asyncio.sleep(0.05)
            assert not poll.done(), "the long-poll waits for something new"
            sent = await sender.room_send(
                room, "m.room.message", {"msgtype": "m.text", "body": text}
            )
            assert isinstance(sent, RoomSendResponse), sent
            got = await live(poll)
            events = got.rooms.join[room].timeline.events
            messages = [(e.sender, e.body) for e in events if isinstance(e, RoomMessageText)]
            assert messages == [(sender.user_id, text)]
            await synced(sender, timeout=0)
        assert set(alice.rooms[room].users) == {alice.user_id, bob.user_id}

        # A redaction, a new name and a new topic reach both of them.
        oops = await alice.room_send(room, "m.room.message", {"msgtype": "m.text", "body": "oops"})
        assert isinstance(oops, RoomSendResponse), oops
        await synced(alice, timeout=0)
        await synced(bob, timeout=0)
        polls = [long_poll(alice), long_poll(bob)]
        await asyncio.sleep(0.05)
        await alice.room_redact(room, oops.event_id, reason="typo")
        await alice.room_put_state(room, "m.room.name", {"name": "Green tea"})
        await alice.room_put_state(room, "m.room.topic", {"topic": "Sencha"})
        for nio, poll in zip((alice, bob), polls, strict=True):
            events = list((await live(poll)).rooms.join[room].timeline.events)
            while not any(isinstance(e, RoomTopicEvent) for e in events):
                events += (await synced(nio, timeout=5_000)).rooms.join[room].timeline.events
            assert any(isinstance(e, RedactionEvent) and e.redacts == oops.event_id
                       for e in events), nio.user_id  # fmt: skip
            assert any(isinstance(e, RoomNameEvent) for e in events)
            assert (nio.rooms[room].name, nio.rooms[room].topic) == ("Green tea", "Sencha")
    finally:
        await alice.close()
        await bob.close()
