"""A small language for drawing room graphs in state resolution tests.

Events are named ("PA", "MB", …) and built by helpers such as ``pl``, ``join``,
``ban``, ``topic``; the ``prev_events`` graph is drawn as chains read from the
newest event back, ``"END MB MA PA START"`` meaning END follows MB, MB follows
MA, and so on. Every room starts with the same initial events, chained in order:

    CREATE (by Alice)  IMA (Alice joins)  IPOWER (Alice 100)  IJR (public)
    IMB, IMC, IMZ (Bob, Charlie, Zara join)  START (a message)

and the graph's newest event is ``END`` (a message), whose state — the
resolution of the states after its ``prev_events`` — is what a test checks.

Each event's ``auth_events`` are chosen from the state before it (resolved,
with the room version's algorithm, from its ``prev_events``), with the kernel's
own auth events selection; ``origin_server_ts`` follows the order in which the
events are listed. Event IDs are ``$`` + name, so resolved states read back as
names. In v12 rooms the creator (Alice) is dropped from ``pl`` users, since
creators may not be listed there.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tessera.kernel.auth import auth_types_for_event
from tessera.kernel.builder import event_references
from tessera.kernel.events import Event, StateKey
from tessera.kernel.room_versions import RoomVersion
from tessera.kernel.state_res import MappingEventSource, resolve_state

ALICE = "@alice:example.com"
BOB = "@bob:example.com"
CHARLIE = "@charlie:example.com"
EVELYN = "@evelyn:example.com"
ZARA = "@zara:example.com"

CREATOR = ALICE
PL_KEY: StateKey = ("m.room.power_levels", "")
JR_KEY: StateKey = ("m.room.join_rules", "")
TOPIC_KEY: StateKey = ("m.room.topic", "")


def member_key(user: str) -> StateKey:
    return ("m.room.member", user)


@dataclasses.dataclass(frozen=True)
class Draft:
    """An event before it is placed in a graph."""

    name: str
    sender: str
    type: str
    content: Mapping[str, Any]
    state_key: str | None = None


def pl(name: str, sender: str, users: Mapping[str, int], **extra: Any) -> Draft:
    return Draft(name, sender, "m.room.power_levels", {"users": dict(users), **extra}, "")


def membership(name: str, sender: str, target: str, value: str) -> Draft:
    return Draft(name, sender, "m.room.member", {"membership": value}, target)


def join(name: str, user: str) -> Draft:
    return membership(name, user, user, "join")


def leave(name: str, user: str) -> Draft:
    return membership(name, user, user, "leave")


def kick(name: str, sender: str, target: str) -> Draft:
    return membership(name, sender, target, "leave")


def ban(name: str, sender: str, target: str) -> Draft:
    return membership(name, sender, target, "ban")


def invite(name: str, sender: str, target: str) -> Draft:
    return membership(name, sender, target, "invite")


def topic(name: str, sender: str, text: str | None = None) -> Draft:
    return Draft(name, sender, "m.room.topic", {"topic": text or f"topic {name}"}, "")


def join_rules(name: str, sender: str, rule: str) -> Draft:
    return Draft(name, sender, "m.room.join_rules", {"join_rule": rule}, "")


def message(name: str, sender: str) -> Draft:
    return Draft(name, sender, "m.room.message", {"msgtype": "m.text", "body": name})


INITIAL: tuple[Draft, ...] = (
    Draft("CREATE", ALICE, "m.room.create", {}, ""),
    join("IMA", ALICE),
    pl("IPOWER", ALICE, {ALICE: 100}),
    join_rules("IJR", ALICE, "public"),
    join("IMB", BOB),
    join("IMC", CHARLIE),
    join("IMZ", ZARA),
    message("START", ZARA),
)


def event_id(name: str) -> str:
    return "$" + name


def name_of(event_id: str) -> str:
    return event_id[1:]


class RoomGraph:
    """A room's events and the state before and after each, built event by event."""

    def __init__(self, rv: RoomVersion) -> None:
        self.rv = rv
        self.events: dict[str, Event] = {}
        self.state_before: dict[str, dict[StateKey, str]] = {}
        self.state_after: dict[str, dict[StateKey, str]] = {}
        self._ts = 1_700_000_000_000
        self.room_id = "!CREATE" if rv.room_id_is_create_event_id else "!room:example.com"
        self.source = MappingEventSource(self.events)

    @classmethod
    def initial(cls, rv: RoomVersion) -> RoomGraph:
        room = cls(rv)
        prev: list[str] = []
        for draft in INITIAL:
            room.add(draft, prev)
            prev = [draft.name]
        return room

    def resolve(self, state_sets: Sequence[Mapping[StateKey, str]]) -> dict[StateKey, str]:
        if len(state_sets) == 1:
            return dict(state_sets[0])
        return resolve_state(self.rv, state_sets, self.source)

    def add(self, draft: Draft, prev: Sequence[str], ts: int | None = None) -> Event:
        """Place ``draft`` after the events named ``prev``."""
        before = self.resolve([self.state_after[p] for p in prev]) if prev else {}
        pdu = self._pdu(draft, prev, ts)
        auth_ids = self._select_auth_events(pdu, before)
        pdu["auth_events"] = event_references(self.rv, auth_ids)
        event = Event(pdu, self.rv, event_id(draft.name))
        self.events[event.event_id] = event
        self.state_before[draft.name] = before
        after = dict(before)
        if draft.state_key is not None:
            after[(draft.type, draft.state_key)] = event.event_id
        self.state_after[draft.name] = after
        return event

    def _pdu(self, draft: Draft, prev: Sequence[str], ts: int | None) -> dict[str, Any]:
        self._ts += 1
        content = dict(draft.content)
        if draft.type == "m.room.create":
            content["room_version"] = self.rv.identifier
            if not self.rv.implicit_room_creator:
                content["creator"] = draft.sender
        if draft.type == "m.room.power_levels" and self.rv.privileged_creators:
            content["users"] = {u: v for u, v in content["users"].items() if u != CREATOR}
        depth = 1 + max((self.events[event_id(p)].depth for p in prev), default=0)
        pdu: dict[str, Any] = {
            "type": draft.type,
            "sender": draft.sender,
            "content": content,
            "prev_events": event_references(self.rv, [event_id(p) for p in prev]),
            "auth_events": [],
            "depth": depth,
            "origin_server_ts": self._ts if ts is None else ts,
            "origin": "example.com",
            "hashes": {"sha256": "A" * 43},
            "signatures": {},
        }
        if draft.state_key is not None:
            pdu["state_key"] = draft.state_key
        if not (self.rv.room_id_is_create_event_id and draft.type == "m.room.create"):
            pdu["room_id"] = self.room_id
        return pdu

    def _select_auth_events(self, pdu: dict[str, Any], before: Mapping[StateKey, str]) -> list[str]:
        keys = auth_types_for_event(Event(pdu, self.rv, "$PENDING"))
        skip = {("m.room.create", "")} if self.rv.room_id_is_create_event_id else set()
        return sorted({before[k] for k in keys if k in before and k not in skip})

    def names(self, state: Mapping[StateKey, str]) -> dict[StateKey, str]:
        return {k: name_of(v) for k, v in state.items()}


def build(rv: RoomVersion, drafts: Iterable[Draft], edges: Iterable[str]) -> RoomGraph:
    """The room of the initial events, ``drafts`` and ``END``, linked by ``edges``.

    Timestamps follow the order of ``drafts`` whatever order the graph forces
    the events to be placed in; ``END`` is the newest.
    """
    room = RoomGraph.initial(rv)
    listed = [*drafts, message("END", ZARA)]
    by_name = {d.name: d for d in listed}
    ts = {d.name: room._ts + 1 + i for i, d in enumerate(listed)}
    prevs: dict[str, list[str]] = {}
    for chain in edges:
        names = chain.split()
        for newer, older in itertools.pairwise(names):
            prevs.setdefault(newer, [])
            if older not in prevs[newer]:
                prevs[newer].append(older)
    placed = set(room.state_after)
    pending = [n for n in by_name]
    while pending:
        progress = False
        for name in list(pending):
            if all(p in placed for p in prevs.get(name, [])):
                room.add(by_name[name], prevs.get(name, []), ts[name])
                placed.add(name)
                pending.remove(name)
                progress = True
        if not progress:
            raise ValueError(f"edges leave {pending} unplaced (a cycle, or a name never drawn)")
    return room


def expected_state(
    room: RoomGraph, names: Iterable[str], absent: Iterable[StateKey] = ()
) -> dict[StateKey, str]:
    """The state after START, overridden by each named event under its key, minus ``absent``."""
    state = room.names(room.state_after["START"])
    for name in names:
        event = room.events[event_id(name)]
        state[event.state_entry] = name
    for key in absent:
        state.pop(key, None)
    return state
