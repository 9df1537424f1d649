"""A small room builder for the auth-rule tests (and tests that it builds what they assume).

Events are plain PDU dicts wrapped in ``Event`` with explicit IDs of the form
``$<n>:<sender's server>`` (v1/v2 rules read the server of an event ID), so no
hashing or signing is needed except where a rule checks a signature.
"""

from __future__ import annotations

import copy
from typing import Any

from tessera.kernel.auth import auth_types_for_event, check_auth
from tessera.kernel.events import Event, StateKey
from tessera.kernel.room_versions import RoomVersion, room_version

ALICE = "@alice:a.example"  # the creator (100 in v1–v11, infinite in v12)
BOB = "@bob:b.example"  # moderator, 50
DIANA = "@diana:d.example"  # moderator, 50
CAROL = "@carol:c.example"  # joined, 0
DAVE = "@dave:x.example"  # never in the room
EVE = "@eve:e.example"  # banned
FRANK = "@frank:f.example"  # invited
KATE = "@kate:k.example"  # knocking (v7+)

CREATE_KEY: StateKey = ("m.room.create", "")
PL_KEY: StateKey = ("m.room.power_levels", "")
JR_KEY: StateKey = ("m.room.join_rules", "")
VERSIONS = ("1", "3", "8", "10", "11", "12")


def server_of(user_id: str) -> str:
    return user_id.partition(":")[2]


def default_power_levels(rv: RoomVersion) -> dict[str, Any]:
    users = {BOB: 50, DIANA: 50, CAROL: 0}
    if not rv.privileged_creators:
        users[ALICE] = 100
    return {
        "users": users,
        "users_default": 0,
        "events": {"m.room.name": 50, "m.room.power_levels": 50, "m.room.tombstone": 100},
        "events_default": 0,
        "state_default": 50,
        "ban": 50,
        "kick": 50,
        "redact": 50,
        "invite": 0,
        "notifications": {"room": 50},
    }


class Room:
    """A room's state, and events built on top of it."""

    def __init__(
        self,
        version: str,
        *,
        join_rule: str | None = "public",
        create_content: dict[str, Any] | None = None,
        members: bool = True,
        power_levels: bool = True,
    ) -> None:
        self.rv = room_version(version)
        self.counter = 0
        self.state: dict[StateKey, Event] = {}
        self.last: list[str] = []
        self.room_id = "!room:a.example"  # v12: replaced by the create event's
        content: dict[str, Any] = {"room_version": version}
        if not self.rv.implicit_room_creator:
            content["creator"] = ALICE
        content.update(create_content or {})
        self.create = self.event("m.room.create", ALICE, content, "", prev=[], auth=[])
        self.room_id = self.create.room_id
        self.put(self.create)
        self.put(self.member(ALICE, ALICE, "join", prev=[self.create.event_id]))
        if power_levels:
            self.put(self.state_event("m.room.power_levels", ALICE, default_power_levels(self.rv)))
        if join_rule is not None:
            self.put(self.state_event("m.room.join_rules", ALICE, {"join_rule": join_rule}))
        if members:
            for user, membership in (
                (BOB, "join"),
                (DIANA, "join"),
                (CAROL, "join"),
                (EVE, "ban"),
                (FRANK, "invite"),
            ):
                self.put(self.member(user, user, membership))
            if self.rv.knock_join_rule:
                self.put(self.member(KATE, KATE, "knock"))

    # --- building ---------------------------------------------------------------

    def event(
        self,
        etype: str,
        sender: str,
        content: dict[str, Any],
        state_key: str | None = None,
        *,
        prev: list[str] | None = None,
        auth: list[str] | None = None,
        **fields: Any,
    ) -> Event:
        self.counter += 1
        event_id = f"${self.counter}:{server_of(sender)}"
        pdu: dict[str, Any] = {
            "type": etype,
            "sender": sender,
            "content": content,
            "prev_events": list(self.last) if prev is None else prev,
            "depth": self.counter,
            "origin_server_ts": 1_700_000_000_000 + self.counter,
            "hashes": {"sha256": "x"},
            "signatures": {server_of(sender): {"ed25519:1": "sig"}},
        }
        if not (etype == "m.room.create" and self.rv.room_id_is_create_event_id):
            pdu["room_id"] = self.room_id
        if state_key is not None:
            pdu["state_key"] = state_key
        if not self.rv.event_ids_are_hashes:
            pdu["event_id"] = event_id
        pdu.update(fields)
        if auth is None:
            wanted = auth_types_for_event(Event(pdu, self.rv, event_id=event_id))
            auth = sorted(self.state[k].event_id for k in wanted if k in self.state)
        pdu["auth_events"] = auth
        return Event(pdu, self.rv, event_id=event_id)

    def member(self, sender: str, target: str, membership: str, **extra: Any) -> Event:
        prev = extra.pop("prev", None)
        content = {"membership": membership, **extra}
        return self.event("m.room.member", sender, content, target, prev=prev)

    def state_event(
        self, etype: str, sender: str, content: dict[str, Any], state_key: str = ""
    ) -> Event:
        return self.event(etype, sender, content, state_key)

    def message(self, sender: str, **fields: Any) -> Event:
        return self.event("m.room.message", sender, {"msgtype": "m.text", "body": "hi"}, **fields)

    def power_levels(self, sender: str, **changes: Any) -> Event:
        """A power levels event: the current content with top-level keys replaced."""
        content = copy.deepcopy(dict(self.state[PL_KEY].content)) if PL_KEY in self.state else {}
        for key, value in changes.items():
            if value is None:
                content.pop(key, None)
            else:
                content[key] = value
        return self.state_event("m.room.power_levels", sender, content)

    def set_levels(self, **changes: Any) -> None:
        """Change the room's current power levels (as if an accepted event had)."""
        self.put(self.power_levels(ALICE, **changes))

    def users(self, **changes: int | None) -> dict[str, int]:
        users = dict(self.state[PL_KEY].content["users"])
        for name, level in changes.items():
            user = {"alice": ALICE, "bob": BOB, "carol": CAROL, "diana": DIANA}[name]
            if level is None:
                users.pop(user, None)
            else:
                users[user] = level
        return users

    # --- state --------------------------------------------------------------------

    def put(self, event: Event) -> Event:
        self.state[event.state_entry] = event
        self.last = [event.event_id]
        return event

    def auth_state(self, event: Event) -> dict[StateKey, Event]:
        wanted = auth_types_for_event(event) | {CREATE_KEY}
        return {k: self.state[k] for k in wanted if k in self.state}

    def check(self, event: Event) -> None:
        check_auth(event, self.auth_state(event))


def test_rooms_are_built_valid_in_every_tested_version() -> None:
    for version in VERSIONS:
        room = Room(version, members=False)
        for event in list(room.state.values()):
            room.check(event)
        assert room.state[CREATE_KEY].room_id == room.room_id


def test_v12_room_id_is_the_create_event_id() -> None:
    room = Room("12")
    assert room.room_id == "!" + room.create.event_id[1:]
    assert room.create.event_id not in room.message(CAROL).auth_event_ids
