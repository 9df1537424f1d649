"""The auth rules, table-driven: every numbered rule allowed once and rejected once.

Each case names the rule it exercises (a key of ``numbering.RULES``) and the
verdict: ``None`` for allowed, else the rule that must reject (the AuthError's
``rule``). Cases run in room versions 1, 3, 8, 10, 11 and 12 wherever the rule
exists there; ``test_every_rule_is_covered`` keeps the table complete.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from tessera.kernel.auth import AuthError, auth_state_from_auth_events, check_auth
from tessera.kernel.auth.numbering import numbers_for
from tessera.kernel.events import Event
from tessera.kernel.room_versions import RoomVersion, room_version
from tessera.kernel.signing import SigningKey, sign_json
from tests.unit.test_auth_rooms import (
    ALICE,
    BOB,
    CAROL,
    CREATE_KEY,
    DAVE,
    DIANA,
    EVE,
    FRANK,
    KATE,
    PL_KEY,
    VERSIONS,
    Room,
)

ID_KEY = SigningKey.from_seed("ed25519:0", b"\x01" * 32)
ID_KEY_2 = SigningKey.from_seed("ed25519:1", b"\x02" * 32)
OTHER_KEY = SigningKey.from_seed("ed25519:2", b"\x03" * 32)
TOKEN = "tok"


def _all(_rv: RoomVersion) -> bool:
    return True


@dataclasses.dataclass(frozen=True)
class Case:
    rule: str
    expect: str | None
    build: Callable[[Room], Event]
    when: Callable[[RoomVersion], bool] = _all
    room: dict[str, Any] = dataclasses.field(default_factory=dict)


def allow(rule: str, build: Callable[[Room], Event], **kw: Any) -> Case:
    return Case(rule, None, build, **kw)


def reject(rule: str, build: Callable[[Room], Event], by: str | None = None, **kw: Any) -> Case:
    return Case(rule, by or rule, build, **kw)


# --- builders for cases that take a few steps -------------------------------------


def create_event(r: Room, prev: list[str] | None = None, **content: Any) -> Event:
    base: dict[str, Any] = {"room_version": r.rv.identifier}
    if not r.rv.implicit_room_creator:
        base["creator"] = ALICE
    base.update(content)
    base = {k: v for k, v in base.items() if v is not None}
    return r.event("m.room.create", ALICE, base, "", prev=prev or [], auth=[])


def create_in_room(r: Room, room_id: str) -> Event:
    ev = create_event(r)
    ev.pdu["room_id"] = room_id
    return ev


def list_checked(listed: Callable[[Room, Event], list[Event]], rejected: tuple[str, ...] = ()):
    """A builder whose event is checked through auth_state_from_auth_events first."""

    def build(r: Room) -> Event:
        ev = r.message(CAROL)
        events = listed(r, ev)
        bad = tuple(e.event_id for e in events if e.event_id in rejected or "rejected" in rejected)
        state = auth_state_from_auth_events(ev, events, create=r.create, rejected=bad)
        check_auth(ev, state)
        return ev

    return build


def _listed_normally(r: Room, ev: Event) -> list[Event]:
    by_id = {e.event_id: e for e in r.state.values()}
    return [by_id[i] for i in ev.auth_event_ids]


def other_room_pl(r: Room) -> Event:
    pl = r.power_levels(ALICE)
    pl.pdu["room_id"] = "!elsewhere:a.example"
    r.put(pl)
    return r.message(CAROL)


def without_create(r: Room) -> Event:
    ev = r.message(CAROL)
    state = r.auth_state(ev)
    del state[CREATE_KEY]
    check_auth(ev, state)
    return ev


def create_not_listed(r: Room) -> Event:
    ev = r.message(CAROL)
    ev.pdu["auth_events"] = [i for i in ev.auth_event_ids if i != r.create.event_id]
    return Event(ev.pdu, r.rv, event_id=ev.event_id)


def create_listed(r: Room) -> Event:
    ev = r.message(CAROL)
    ev.pdu["auth_events"] = [*ev.auth_event_ids, r.create.event_id]
    return Event(ev.pdu, r.rv, event_id=ev.event_id)


def fresh_room_join(user: str, **create_content: Any) -> Callable[[Room], Event]:
    def build(r: Room) -> Event:
        room = Room(
            r.rv.identifier,
            join_rule=None,
            members=False,
            power_levels=False,
            create_content=create_content,
        )
        room.state = {CREATE_KEY: room.create}
        ev = room.member(user, user, "join", prev=[room.create.event_id])
        room.check(ev)
        return ev

    return build


def via_join(user: str, via: str, *, signed: bool = True) -> Callable[[Room], Event]:
    def build(r: Room) -> Event:
        ev = r.member(user, user, "join", join_authorised_via_users_server=via)
        if signed:
            ev.pdu["signatures"][via.partition(":")[2]] = {"ed25519:1": "sig"}
        return ev

    return build


def tpi_invite(
    target: str = DAVE,
    sender: str = BOB,
    *,
    mxid: str | None = None,
    token: str | None = TOKEN,
    key: SigningKey = ID_KEY,
    signed: bool = True,
    in_state: bool = True,
) -> Callable[[Room], Event]:
    def build(r: Room) -> Event:
        if in_state:
            r.put(
                r.state_event(
                    "m.room.third_party_invite",
                    BOB,
                    {
                        "display_name": "d...@example.org",
                        "key_validity_url": "https://id.example/isvalid",
                        "public_key": ID_KEY.public_key_base64,
                        "public_keys": [{"public_key": ID_KEY_2.public_key_base64}],
                    },
                    TOKEN,
                )
            )
        body: dict[str, Any] = {"mxid": mxid or target}
        if token is not None:
            body["token"] = token
        tpi: dict[str, Any] = {"display_name": "d...@example.org"}
        if signed:
            tpi["signed"] = sign_json(body, "id.example", key)
        return r.member(sender, target, "invite", third_party_invite=tpi)

    return build


def with_levels(build: Callable[[Room], Event], **levels: Any) -> Callable[[Room], Event]:
    def wrapped(r: Room) -> Event:
        r.set_levels(**levels)
        return build(r)

    return wrapped


def no_power_levels(build: Callable[[Room], Event]) -> Callable[[Room], Event]:
    def wrapped(r: Room) -> Event:
        del r.state[PL_KEY]
        return build(r)

    return wrapped


def v1_redaction(sender: str, redacts: str) -> Callable[[Room], Event]:
    return lambda r: r.event("m.room.redaction", sender, {}, redacts=redacts)


def fresh_pl_users(r: Room) -> dict[str, int]:
    return {BOB: 100} if r.rv.privileged_creators else {ALICE: 100, BOB: 100}


def not_v12(rv: RoomVersion) -> bool:
    return not rv.privileged_creators


def v10_plus(rv: RoomVersion) -> bool:
    return rv.enforce_int_power_levels


def before_v10(rv: RoomVersion) -> bool:
    return not rv.enforce_int_power_levels


# --- the table ----------------------------------------------------------------------

CASES: list[Case] = [
    # 1. m.room.create
    allow("create", create_event),
    allow("create.prev_events", create_event),
    reject("create.prev_events", lambda r: create_event(r, prev=["$0:a.example"])),
    allow("create.room_id", create_event),
    reject(
        "create.room_id",
        lambda r: create_in_room(r, "!room:elsewhere.example"),
        when=lambda rv: not rv.room_id_is_create_event_id,
    ),
    reject(
        "create.room_id",
        lambda r: create_in_room(r, "!room:a.example"),
        when=lambda rv: rv.room_id_is_create_event_id,
    ),
    allow("create.room_version", lambda r: create_event(r, room_version="1")),
    allow("create.room_version", lambda r: create_event(r, room_version=None)),
    reject("create.room_version", lambda r: create_event(r, room_version="999")),
    allow("create.creator", create_event),
    reject("create.creator", lambda r: create_event(r, creator=None)),
    allow("create.additional_creators", lambda r: create_event(r, additional_creators=[BOB])),
    reject("create.additional_creators", lambda r: create_event(r, additional_creators=BOB)),
    reject("create.additional_creators", lambda r: create_event(r, additional_creators=["bob"])),
    reject("create.additional_creators", lambda r: create_event(r, additional_creators=[7])),
    allow("create.allow", create_event),
    # 2 (v12). The room ID is the create event's ID.
    allow("room_id", lambda r: r.message(CAROL)),
    reject("room_id", lambda r: r.message(CAROL, room_id="!" + "A" * 43)),
    # 3 [v1–11 2]. The auth events.
    allow("auth_events", lambda r: r.message(CAROL)),
    allow("auth_events.duplicate", list_checked(_listed_normally)),
    reject(
        "auth_events.duplicate",
        list_checked(lambda r, ev: [*_listed_normally(r, ev), r.power_levels(ALICE)]),
    ),
    allow("auth_events.selection", list_checked(_listed_normally)),
    reject(
        "auth_events.selection",
        list_checked(lambda r, ev: [*_listed_normally(r, ev), r.state[("m.room.join_rules", "")]]),
    ),
    reject("auth_events.selection", create_listed, when=lambda rv: rv.room_id_is_create_event_id),
    reject(
        "auth_events.selection",
        list_checked(lambda r, ev: [*_listed_normally(r, ev), r.create]),
        when=lambda rv: rv.room_id_is_create_event_id,
    ),
    allow("auth_events.rejected", list_checked(_listed_normally, rejected=("$0:nowhere",))),
    reject("auth_events.rejected", list_checked(_listed_normally, rejected=("rejected",))),
    allow("auth_events.no_create", lambda r: r.message(CAROL)),
    reject("auth_events.no_create", without_create),
    reject("auth_events.no_create", create_not_listed),
    reject("room_id", without_create, when=lambda rv: rv.room_id_is_create_event_id),
    allow("auth_events.room_id", lambda r: r.message(CAROL)),
    reject("auth_events.room_id", other_room_pl),
    reject(
        "auth_events.room_id",
        list_checked(
            lambda r, ev: [
                Event({**e.pdu, "room_id": "!x:y"}, r.rv, event_id=e.event_id)
                if e.type == "m.room.power_levels"
                else e
                for e in _listed_normally(r, ev)
            ]
        ),
    ),
    # 4 [v1–11 3]. m.federate
    allow("federate", lambda r: r.message(ALICE), room={"create_content": {"m.federate": False}}),
    allow("federate", lambda r: r.message(BOB), room={"create_content": {"m.federate": True}}),
    reject("federate", lambda r: r.message(BOB), room={"create_content": {"m.federate": False}}),
    # 4 [v1–5]. m.room.aliases: judged by the sender's server alone, even from outside.
    allow("aliases", lambda r: r.state_event("m.room.aliases", DAVE, {"aliases": []}, "x.example")),
    allow(
        "aliases.state_key",
        lambda r: r.state_event("m.room.aliases", DAVE, {"aliases": []}, "x.example"),
    ),
    reject("aliases.state_key", lambda r: r.event("m.room.aliases", DAVE, {"aliases": []})),
    allow(
        "aliases.domain",
        lambda r: r.state_event("m.room.aliases", DAVE, {"aliases": []}, "x.example"),
    ),
    reject(
        "aliases.domain",
        lambda r: r.state_event("m.room.aliases", DAVE, {"aliases": []}, "a.example"),
    ),
    allow(
        "aliases.allow",
        lambda r: r.state_event("m.room.aliases", DAVE, {"aliases": []}, "x.example"),
    ),
    reject(
        "sender_joined",
        lambda r: r.state_event("m.room.aliases", DAVE, {"aliases": []}, "x.example"),
        when=lambda rv: not rv.special_case_aliases_auth,
    ),
    # 5 [v6–11 4]. m.room.member
    allow("member", lambda r: r.member(DAVE, DAVE, "join")),
    allow("member.fields", lambda r: r.member(DAVE, DAVE, "join")),
    reject("member.fields", lambda r: r.event("m.room.member", DAVE, {}, DAVE)),
    reject(
        "member.fields",
        lambda r: r.event("m.room.member", DAVE, {"membership": "join"}),
    ),
    allow("member.via", via_join(DAVE, CAROL)),
    allow("member.via.signed", via_join(DAVE, CAROL)),
    reject("member.via.signed", via_join(DAVE, CAROL, signed=False)),
    reject(
        "member.via.signed",
        lambda r: r.member(CAROL, CAROL, "leave", join_authorised_via_users_server=7),
    ),
    # 5.3 [v6–7 4.2, v8–11 4.3, v1–5 5.2]. join
    allow("member.join", lambda r: r.member(DAVE, DAVE, "join")),
    allow("member.join.creator", fresh_room_join(ALICE)),
    reject("member.join.creator", fresh_room_join(BOB), by="member.join.invite"),
    reject(
        "member.join.creator",
        fresh_room_join(BOB, additional_creators=[BOB]),
        by="member.join.invite",
        when=lambda rv: rv.privileged_creators,
    ),
    allow("member.join.sender", lambda r: r.member(DAVE, DAVE, "join")),
    reject("member.join.sender", lambda r: r.member(BOB, DAVE, "join")),
    allow("member.join.banned", lambda r: r.member(DAVE, DAVE, "join")),
    reject("member.join.banned", lambda r: r.member(EVE, EVE, "join")),
    allow(
        "member.join.invite", lambda r: r.member(FRANK, FRANK, "join"), room={"join_rule": "invite"}
    ),
    allow(
        "member.join.invite", lambda r: r.member(CAROL, CAROL, "join"), room={"join_rule": "invite"}
    ),
    allow("member.join.invite", lambda r: r.member(FRANK, FRANK, "join"), room={"join_rule": None}),
    reject(
        "member.join.invite", lambda r: r.member(DAVE, DAVE, "join"), room={"join_rule": "invite"}
    ),
    reject("member.join.invite", lambda r: r.member(DAVE, DAVE, "join"), room={"join_rule": None}),
    allow(
        "member.join.invite",
        lambda r: r.member(FRANK, FRANK, "join"),
        room={"join_rule": "knock"},
        when=lambda rv: rv.knock_join_rule,
    ),
    reject(
        "member.join.invite",
        lambda r: r.member(DAVE, DAVE, "join"),
        room={"join_rule": "knock"},
        when=lambda rv: rv.knock_join_rule,
    ),
    reject(
        "member.join.reject",
        lambda r: r.member(FRANK, FRANK, "join"),
        room={"join_rule": "knock"},
        when=lambda rv: not rv.knock_join_rule,
    ),
    allow("member.join.restricted", via_join(DAVE, CAROL), room={"join_rule": "restricted"}),
    allow(
        "member.join.restricted.member",
        lambda r: r.member(FRANK, FRANK, "join"),
        room={"join_rule": "restricted"},
    ),
    reject(
        "member.join.restricted.member",
        lambda r: r.member(DAVE, DAVE, "join"),
        room={"join_rule": "restricted"},
        by="member.join.restricted.via",
    ),
    allow("member.join.restricted.via", via_join(DAVE, BOB), room={"join_rule": "restricted"}),
    reject("member.join.restricted.via", via_join(DAVE, EVE), room={"join_rule": "restricted"}),
    reject("member.join.restricted.via", via_join(DAVE, FRANK), room={"join_rule": "restricted"}),
    reject(
        "member.join.restricted.via",
        with_levels(via_join(DAVE, CAROL), invite=10),
        room={"join_rule": "restricted"},
    ),
    allow("member.join.restricted.allow", via_join(DAVE, CAROL), room={"join_rule": "restricted"}),
    allow(
        "member.join.restricted.allow",
        via_join(DAVE, CAROL),
        room={"join_rule": "knock_restricted"},
        when=lambda rv: rv.knock_restricted_join_rule,
    ),
    reject(
        "member.join.reject",
        via_join(DAVE, CAROL),
        room={"join_rule": "knock_restricted"},
        when=lambda rv: not rv.knock_restricted_join_rule,
    ),
    reject(
        "member.join.reject",
        via_join(DAVE, CAROL),
        room={"join_rule": "restricted"},
        when=lambda rv: not rv.restricted_join_rule,
    ),
    allow("member.join.public", lambda r: r.member(DAVE, DAVE, "join")),
    reject(
        "member.join.public",
        lambda r: r.member(DAVE, DAVE, "join"),
        room={"join_rule": "private"},
        by="member.join.reject",
    ),
    reject(
        "member.join.reject", lambda r: r.member(DAVE, DAVE, "join"), room={"join_rule": "private"}
    ),
    # 5.4 [v8–11 4.4]. invite, with third-party invites
    allow("member.invite", lambda r: r.member(CAROL, DAVE, "invite")),
    allow("member.invite.tpi", tpi_invite()),
    allow("member.invite.tpi.banned", tpi_invite()),
    reject("member.invite.tpi.banned", tpi_invite(EVE)),
    allow("member.invite.tpi.signed", tpi_invite()),
    reject("member.invite.tpi.signed", tpi_invite(signed=False)),
    allow("member.invite.tpi.fields", tpi_invite()),
    reject("member.invite.tpi.fields", tpi_invite(token=None)),
    allow("member.invite.tpi.mxid", tpi_invite()),
    reject("member.invite.tpi.mxid", tpi_invite(mxid=CAROL)),
    allow("member.invite.tpi.token", tpi_invite()),
    reject("member.invite.tpi.token", tpi_invite(in_state=False)),
    allow("member.invite.tpi.sender", tpi_invite()),
    reject("member.invite.tpi.sender", tpi_invite(sender=CAROL)),
    allow("member.invite.tpi.signature", tpi_invite()),
    allow("member.invite.tpi.signature.public_key", tpi_invite(key=ID_KEY)),
    allow("member.invite.tpi.signature.public_keys", tpi_invite(key=ID_KEY_2)),
    reject("member.invite.tpi.signature", tpi_invite(key=OTHER_KEY), by="member.invite.tpi.reject"),
    reject("member.invite.tpi.reject", tpi_invite(key=OTHER_KEY)),
    allow("member.invite.sender", lambda r: r.member(CAROL, DAVE, "invite")),
    reject("member.invite.sender", lambda r: r.member(FRANK, DAVE, "invite")),
    allow("member.invite.target", lambda r: r.member(CAROL, FRANK, "invite")),
    reject("member.invite.target", lambda r: r.member(CAROL, BOB, "invite")),
    reject("member.invite.target", lambda r: r.member(CAROL, EVE, "invite")),
    allow("member.invite.level", lambda r: r.member(CAROL, DAVE, "invite")),
    reject(
        "member.invite.level",
        with_levels(lambda r: r.member(CAROL, DAVE, "invite"), invite=10),
        by="member.invite.reject",
    ),
    reject(
        "member.invite.reject",
        with_levels(lambda r: r.member(CAROL, DAVE, "invite"), invite=10),
    ),
    # 5.5 [v8–11 4.5]. leave
    allow("member.leave", lambda r: r.member(CAROL, CAROL, "leave")),
    allow("member.leave.self", lambda r: r.member(CAROL, CAROL, "leave")),
    allow("member.leave.self", lambda r: r.member(FRANK, FRANK, "leave")),
    allow(
        "member.leave.self",
        lambda r: r.member(KATE, KATE, "leave"),
        when=lambda rv: rv.knock_join_rule,
    ),
    reject("member.leave.self", lambda r: r.member(DAVE, DAVE, "leave")),
    reject("member.leave.self", lambda r: r.member(EVE, EVE, "leave")),
    allow("member.leave.sender", lambda r: r.member(BOB, CAROL, "leave")),
    reject("member.leave.sender", lambda r: r.member(FRANK, CAROL, "leave")),
    allow("member.leave.banned", lambda r: r.member(ALICE, EVE, "leave")),
    reject(
        "member.leave.banned",
        with_levels(lambda r: r.member(BOB, EVE, "leave"), ban=75),
    ),
    allow("member.leave.kick", lambda r: r.member(BOB, CAROL, "leave")),
    allow("member.leave.kick", lambda r: r.member(BOB, EVE, "leave")),
    reject("member.leave.kick", lambda r: r.member(CAROL, BOB, "leave"), by="member.leave.reject"),
    reject("member.leave.kick", lambda r: r.member(BOB, DIANA, "leave"), by="member.leave.reject"),
    reject("member.leave.reject", lambda r: r.member(BOB, ALICE, "leave")),
    # 5.6 [v8–11 4.6]. ban
    allow("member.ban", lambda r: r.member(BOB, CAROL, "ban")),
    allow("member.ban.sender", lambda r: r.member(BOB, CAROL, "ban")),
    reject("member.ban.sender", lambda r: r.member(FRANK, CAROL, "ban")),
    allow("member.ban.level", lambda r: r.member(BOB, DAVE, "ban")),
    reject("member.ban.level", lambda r: r.member(CAROL, DAVE, "ban"), by="member.ban.reject"),
    reject("member.ban.reject", lambda r: r.member(BOB, DIANA, "ban")),
    reject("member.ban.reject", lambda r: r.member(BOB, ALICE, "ban")),
    # 5.7 [v8–11 4.7]. knock (v7+)
    allow("member.knock", lambda r: r.member(DAVE, DAVE, "knock"), room={"join_rule": "knock"}),
    allow(
        "member.knock.join_rule",
        lambda r: r.member(DAVE, DAVE, "knock"),
        room={"join_rule": "knock"},
    ),
    allow(
        "member.knock.join_rule",
        lambda r: r.member(DAVE, DAVE, "knock"),
        room={"join_rule": "knock_restricted"},
        when=lambda rv: rv.knock_restricted_join_rule,
    ),
    reject("member.knock.join_rule", lambda r: r.member(DAVE, DAVE, "knock")),
    reject(
        "member.knock.join_rule",
        lambda r: r.member(DAVE, DAVE, "knock"),
        room={"join_rule": "knock_restricted"},
        when=lambda rv: rv.knock_join_rule and not rv.knock_restricted_join_rule,
    ),
    allow(
        "member.knock.sender",
        lambda r: r.member(DAVE, DAVE, "knock"),
        room={"join_rule": "knock"},
    ),
    reject(
        "member.knock.sender",
        lambda r: r.member(CAROL, DAVE, "knock"),
        room={"join_rule": "knock"},
    ),
    allow(
        "member.knock.membership",
        lambda r: r.member(DAVE, DAVE, "knock"),
        room={"join_rule": "knock"},
    ),
    reject(
        "member.knock.membership",
        lambda r: r.member(FRANK, FRANK, "knock"),
        room={"join_rule": "knock"},
        by="member.knock.reject",
    ),
    reject(
        "member.knock.reject",
        lambda r: r.member(EVE, EVE, "knock"),
        room={"join_rule": "knock"},
    ),
    reject(
        "member.unknown",
        lambda r: r.member(DAVE, DAVE, "knock"),
        room={"join_rule": "knock"},
        when=lambda rv: not rv.knock_join_rule,
    ),
    reject("member.unknown", lambda r: r.member(CAROL, CAROL, "dance")),
    # 6 [v6–11 5]. The sender must be joined.
    allow("sender_joined", lambda r: r.message(CAROL)),
    reject("sender_joined", lambda r: r.message(DAVE)),
    reject("sender_joined", lambda r: r.message(FRANK)),
    # 7 [v6–11 6]. m.room.third_party_invite
    allow(
        "third_party_invite",
        lambda r: r.state_event("m.room.third_party_invite", CAROL, {}, "t"),
    ),
    allow(
        "third_party_invite.level",
        lambda r: r.state_event("m.room.third_party_invite", CAROL, {}, "t"),
    ),
    reject(
        "third_party_invite.level",
        with_levels(lambda r: r.state_event("m.room.third_party_invite", CAROL, {}, "t"), invite=1),
    ),
    # 8 [v6–11 7]. The required power level.
    allow("required_level", lambda r: r.state_event("m.room.name", BOB, {"name": "n"})),
    allow("required_level", lambda r: r.message(CAROL)),
    reject("required_level", lambda r: r.state_event("m.room.name", CAROL, {"name": "n"})),
    reject("required_level", lambda r: r.state_event("org.example.x", CAROL, {})),
    reject("required_level", with_levels(lambda r: r.message(CAROL), events_default=1)),
    reject(
        "required_level",
        no_power_levels(lambda r: r.state_event("m.room.topic", CAROL, {"topic": "t"})),
    ),
    # 9 [v6–11 8]. A state_key naming a user is that user's.
    allow("user_state_key", lambda r: r.state_event("org.example.x", BOB, {}, BOB)),
    allow("user_state_key", lambda r: r.state_event("org.example.x", BOB, {}, "bob")),
    reject("user_state_key", lambda r: r.state_event("org.example.x", BOB, {}, CAROL)),
    # 10 [v6–11 9, v1–5 10]. m.room.power_levels
    allow("power_levels", lambda r: r.power_levels(BOB, kick=40)),
    allow("power_levels.int_fields", lambda r: r.power_levels(BOB, kick=40)),
    reject("power_levels.int_fields", lambda r: r.power_levels(BOB, kick="40"), when=v10_plus),
    reject("power_levels.int_fields", lambda r: r.power_levels(BOB, kick=True), when=v10_plus),
    allow(
        "power_levels.int_maps",
        lambda r: r.power_levels(BOB, events={**r.state[PL_KEY].content["events"], "x": 5}),
    ),
    reject(
        "power_levels.int_maps",
        lambda r: r.power_levels(BOB, events={"m.room.name": "50"}),
        when=v10_plus,
    ),
    reject(
        "power_levels.int_maps",
        lambda r: r.power_levels(BOB, notifications={"room": 50.5}),
        when=v10_plus,
    ),
    reject("power_levels.int_maps", lambda r: r.power_levels(BOB, events=[]), when=v10_plus),
    allow("power_levels.users", lambda r: r.power_levels(BOB, users=r.users(carol=10))),
    reject(
        "power_levels.users",
        lambda r: r.power_levels(BOB, users={**r.users(), "carol": 0}),
    ),
    reject(
        "power_levels.users",
        lambda r: r.power_levels(BOB, users={**r.users(), CAROL: "ten"}),
    ),
    reject("power_levels.users", lambda r: r.power_levels(BOB, users=r.users(carol=None) and [])),
    reject(
        "power_levels.users",
        lambda r: r.power_levels(BOB, users={**r.users(), CAROL: "10"}),
        when=v10_plus,
    ),
    allow(
        "power_levels.users",
        lambda r: r.power_levels(BOB, users={**r.users(), CAROL: " +010 "}),
        when=before_v10,
    ),
    allow("power_levels.creators", lambda r: r.power_levels(ALICE, users=r.users(carol=100))),
    reject(
        "power_levels.creators",
        lambda r: r.power_levels(ALICE, users={**r.users(), ALICE: 100}),
    ),
    reject(
        "power_levels.creators",
        lambda r: r.power_levels(ALICE, users={**r.users(), BOB: 50}),
        room={"create_content": {"additional_creators": [BOB]}},
    ),
    allow(
        "power_levels.no_previous",
        no_power_levels(lambda r: r.power_levels(ALICE, users=fresh_pl_users(r))),
    ),
    reject(
        "power_levels.no_previous",
        lambda r: r.power_levels(BOB, users={**r.users(), BOB: 100}),
        by="power_levels.users_added.new",
    ),
    allow("power_levels.named", lambda r: r.power_levels(BOB, kick=40)),
    allow(
        "power_levels.named.current", with_levels(lambda r: r.power_levels(ALICE, ban=40), ban=75)
    ),
    reject(
        "power_levels.named.current",
        with_levels(lambda r: r.power_levels(BOB, ban=40), ban=75),
    ),
    reject(
        "power_levels.named.current",
        with_levels(lambda r: r.power_levels(BOB, ban=None), ban=75),
    ),
    allow("power_levels.named.new", lambda r: r.power_levels(BOB, kick=50, redact=None)),
    reject("power_levels.named.new", lambda r: r.power_levels(BOB, kick=51)),
    reject(
        "power_levels.named.new",
        no_power_levels(lambda r: r.power_levels(BOB)),
        by="required_level",
    ),
    allow(
        "power_levels.events_removed",
        lambda r: r.power_levels(BOB, events={"m.room.power_levels": 50, "m.room.tombstone": 100}),
    ),
    allow(
        "power_levels.events_removed.current",
        lambda r: r.power_levels(BOB, events={"m.room.power_levels": 50, "m.room.tombstone": 100}),
    ),
    reject(
        "power_levels.events_removed.current",
        lambda r: r.power_levels(BOB, events={"m.room.power_levels": 50, "m.room.name": 50}),
    ),
    reject(
        "power_levels.events_removed.current",
        lambda r: r.power_levels(
            BOB, events={"m.room.power_levels": 50, "m.room.name": 50, "m.room.tombstone": 50}
        ),
    ),
    reject(
        "power_levels.events_removed.current",
        with_levels(
            lambda r: r.power_levels(BOB, notifications={"room": 0}), notifications={"room": 60}
        ),
        when=lambda rv: rv.limit_notifications_power_levels,
    ),
    allow(
        "power_levels.events_removed.current",
        with_levels(
            lambda r: r.power_levels(BOB, notifications={"room": 0}), notifications={"room": 60}
        ),
        when=lambda rv: not rv.limit_notifications_power_levels,
    ),
    allow(
        "power_levels.events_added",
        lambda r: r.power_levels(BOB, events={**r.state[PL_KEY].content["events"], "x.y": 50}),
    ),
    allow(
        "power_levels.events_added.new",
        lambda r: r.power_levels(BOB, events={**r.state[PL_KEY].content["events"], "x.y": 50}),
    ),
    reject(
        "power_levels.events_added.new",
        lambda r: r.power_levels(BOB, events={**r.state[PL_KEY].content["events"], "x.y": 51}),
    ),
    reject(
        "power_levels.events_added.new",
        lambda r: r.power_levels(BOB, notifications={"room": 51}),
        when=lambda rv: rv.limit_notifications_power_levels,
    ),
    allow(
        "power_levels.events_added.new",
        lambda r: r.power_levels(BOB, notifications={"room": 51}),
        when=lambda rv: not rv.limit_notifications_power_levels,
    ),
    allow("power_levels.users_removed", lambda r: r.power_levels(BOB, users=r.users(carol=None))),
    allow(
        "power_levels.users_removed.current",
        lambda r: r.power_levels(BOB, users=r.users(carol=None)),
    ),
    allow(
        "power_levels.users_removed.current",
        lambda r: r.power_levels(BOB, users=r.users(bob=10)),
    ),
    reject(
        "power_levels.users_removed.current",
        lambda r: r.power_levels(BOB, users=r.users(diana=10)),
    ),
    reject(
        "power_levels.users_removed.current",
        lambda r: r.power_levels(BOB, users=r.users(diana=None)),
    ),
    reject(
        "power_levels.users_removed.current",
        lambda r: r.power_levels(BOB, users=r.users(alice=10)),
        when=not_v12,
    ),
    allow("power_levels.users_added", lambda r: r.power_levels(BOB, users={**r.users(), DAVE: 50})),
    allow(
        "power_levels.users_added.new",
        lambda r: r.power_levels(BOB, users={**r.users(), DAVE: 50}),
    ),
    reject(
        "power_levels.users_added.new",
        lambda r: r.power_levels(BOB, users={**r.users(), DAVE: 51}),
    ),
    reject("power_levels.users_added.new", lambda r: r.power_levels(BOB, users=r.users(bob=51))),
    allow("power_levels.allow", lambda r: r.power_levels(ALICE, users=r.users(diana=0))),
    allow(
        "power_levels.allow",
        lambda r: r.power_levels(BOB, users=r.users(bob=None, diana=0)),
        room={"create_content": {"additional_creators": [BOB]}},
        when=lambda rv: rv.privileged_creators,
    ),
    # 11 [v1–2]. m.room.redaction
    allow("redaction", v1_redaction(BOB, "$9:c.example")),
    allow("redaction.level", v1_redaction(BOB, "$9:c.example")),
    reject("redaction.level", v1_redaction(CAROL, "$9:b.example"), by="redaction.reject"),
    allow("redaction.domain", v1_redaction(CAROL, "$9:c.example")),
    reject("redaction.domain", v1_redaction(CAROL, "$9:b.example"), by="redaction.reject"),
    reject("redaction.reject", v1_redaction(CAROL, "$9:b.example")),
    allow(
        "allow",
        v1_redaction(CAROL, "$9:b.example"),
        when=lambda rv: not rv.redaction_rule_in_auth,
    ),
    reject(
        "required_level",
        with_levels(v1_redaction(CAROL, "$9:c.example"), events={"m.room.redaction": 10}),
    ),
    # 11 [v6–11 10]. Otherwise, allow.
    allow("allow", lambda r: r.message(CAROL)),
    allow("allow", lambda r: r.state_event("org.example.x", BOB, {})),
]


def _exists(case: Case, rv: RoomVersion) -> bool:
    keys = numbers_for(rv)
    return case.when(rv) and case.rule in keys and (case.expect is None or case.expect in keys)


PARAMS = [
    pytest.param(case, version, id=f"v{version}-{case.rule}-{case.expect or 'allowed'}-{i}")
    for i, case in enumerate(CASES)
    for version in VERSIONS
    if _exists(case, room_version(version))
]


@pytest.mark.parametrize(("case", "version"), PARAMS)
def test_rule(case: Case, version: str) -> None:
    room = Room(version, **case.room)
    if case.expect is None:
        room.check(case.build(room))
        return
    with pytest.raises(AuthError) as excinfo:
        room.check(case.build(room))
    assert excinfo.value.rule == case.expect, str(excinfo.value)
    assert excinfo.value.number == numbers_for(room.rv)[case.expect]
    assert excinfo.value.number in str(excinfo.value)


#: Rules that only ever allow ("Otherwise, allow", "If …, allow") or only reject.
ALLOW_ONLY = {
    "create.allow",
    "aliases.allow",
    "member.invite.tpi.signature.public_key",
    "member.invite.tpi.signature.public_keys",
    "member.join.restricted.allow",
    "power_levels.allow",
    "allow",
}
REJECT_ONLY = {
    "member.join.reject",
    "member.invite.tpi.reject",
    "member.invite.reject",
    "member.leave.reject",
    "member.ban.reject",
    "member.knock.reject",
    "member.unknown",
    "redaction.reject",
}


@pytest.mark.parametrize("version", VERSIONS)
def test_every_rule_is_covered(version: str) -> None:
    rv = room_version(version)
    allowed = {c.rule for c in CASES if c.expect is None and _exists(c, rv)}
    rejected = {c.rule for c in CASES if c.expect is not None and _exists(c, rv)}
    rules = set(numbers_for(rv))
    assert rules - ALLOW_ONLY - REJECT_ONLY - allowed == set(), "rules without an allowed case"
    assert rules - ALLOW_ONLY - _parents() - rejected == set(), "rules without a rejected case"


def _parents() -> set[str]:
    keys = {k for rv in map(room_version, VERSIONS) for k in numbers_for(rv)}
    return {k for k in keys if any(other.startswith(k + ".") for other in keys)} | {"allow"}
