"""The auth rules of room versions 1–12 ("Authorisation rules" of each room version).

``check_auth`` walks the spec's numbered list in order; the ``m.room.member``
rule lives in ``membership.py`` and the ``m.room.power_levels`` rule in
``power_levels.py``. Comments give each rule's v12 number, then in brackets its
number in older versions where it differs; an ``AuthError`` names the number in
the event's own version (``numbering.py``, checked against the spec's text).

The rules are pure: no I/O, no keys. Two duties stay with the caller and are
named where they arise: only *accepted* events may be given as auth state
(3.3 [v1–11 2.3]), and signatures are verified on receipt of a PDU
(``required_signers`` says whose, including the server a restricted join was
authorised by).
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping

from ..events import Event, StateKey
from ..hashing import room_id_from_create_event_id
from ..identifiers import is_valid_user_id
from ..room_versions import KNOWN_ROOM_VERSIONS
from .errors import deny
from .membership import check_member
from .power_levels import level_of_user, level_to_send, named_level
from .power_levels_rule import check_power_levels_change
from .state import CREATE_KEY, JOIN_RULES_KEY, MEMBER, POWER_LEVELS_KEY, fetch

CREATE = "m.room.create"


def _server_of(identifier: str) -> str:
    return identifier.partition(":")[2]


def check_auth(event: Event, auth_state: Mapping[StateKey, Event]) -> None:
    """Apply the auth rules of ``event``'s room version; raises AuthError.

    ``auth_state`` maps ``(type, state_key)`` to the accepted events the event is
    authorised by; the create event is always under ``("m.room.create", "")``,
    also in v12 where it is not listed in ``auth_events``. Entries no rule reads
    are ignored, so a caller may pass a whole room state.
    """
    rv = event.room_version
    etype = event.type
    # 1. If type is m.room.create:
    if etype == CREATE:
        _check_create(event)
        return
    room_id = event.room_id
    create = auth_state.get(CREATE_KEY)
    if rv.room_id_is_create_event_id:
        # 2 [v12 only]. If the event's room_id is not an event ID for an accepted (not
        # rejected) m.room.create event, with the sigil ! instead of $, reject.
        if (
            create is None
            or create.type != CREATE
            or room_id != room_id_from_create_event_id(create.event_id)
        ):
            raise deny(rv, "room_id", f"room {room_id} is not named by its create event")
        # 3.2 [v12]. If there are entries whose type and state_key don't match those
        # specified by the auth events selection, reject. (m.room.create MUST NOT be
        # selected.)
        if create.event_id in event.auth_event_ids:
            raise deny(rv, "auth_events.selection", "m.room.create is listed in auth_events")
    else:
        # 2.4 [v1–11]. If there is no m.room.create event among the entries, reject.
        if create is None or create.type != CREATE or create.event_id not in event.auth_event_ids:
            raise deny(rv, "auth_events.no_create", "no m.room.create among the auth events")
        # 2.5 [v1–11]. If any event in auth_events has a room_id which does not match
        # that of the event being authorised, reject. (The other entries are checked
        # as they are read, in state.fetch.)
        if create.room_id != room_id:
            raise deny(rv, "auth_events.room_id", "the create event is in another room")
    sender = event.sender
    # 4 [v1–11 3]. If the content of the m.room.create event in the room state has the
    # property m.federate set to false, and the sender domain of the event does not
    # match the sender domain of the create event, reject.
    if create.content.get("m.federate") is False and _server_of(sender) != _server_of(
        create.sender
    ):
        raise deny(rv, "federate", "the room is not federated")
    # 4 [v1–5 only]. If type is m.room.aliases:
    if etype == "m.room.aliases" and rv.special_case_aliases_auth:
        state_key = event.state_key
        # 4.1. If event has no state_key, reject.
        if state_key is None:
            raise deny(rv, "aliases.state_key", "m.room.aliases without state_key")
        # 4.2. If sender's domain doesn't match state_key, reject.
        if state_key != _server_of(sender):
            raise deny(rv, "aliases.domain", "aliases of another server")
        # 4.3. Otherwise, allow.
        return
    # 5 [v6–11 4, v1–5 5]. If type is m.room.member: (membership.py)
    if etype == MEMBER:
        check_member(event, auth_state, create)
        return
    # 6 [v6–11 5, v1–5 6]. If the sender's current membership state is not join, reject.
    member = fetch(auth_state, (MEMBER, sender), event)
    if member is None or member.content.get("membership") != "join":
        raise deny(rv, "sender_joined", "sender is not joined to the room")
    pl = fetch(auth_state, POWER_LEVELS_KEY, event)
    sender_level = level_of_user(sender, pl, create)
    # 7 [v6–11 6, v1–5 7]. If type is m.room.third_party_invite:
    if etype == "m.room.third_party_invite":
        # 7.1. Allow if and only if sender's current power level is greater than or
        # equal to the invite level.
        if sender_level >= named_level(pl.content if pl else {}, "invite", rv):
            return
        raise deny(rv, "third_party_invite.level", "sender may not invite")
    state_key = event.state_key
    # 8 [v6–11 7, v1–5 8]. If the event type's required power level is greater than the
    # sender's power level, reject.
    required = level_to_send(etype, state_key is not None, pl)
    if required > sender_level:
        raise deny(
            rv, "required_level", f"{etype} needs level {required}, sender has {sender_level}"
        )
    # 9 [v6–11 8, v1–5 9]. If the event has a state_key that starts with an @ and does
    # not match the sender, reject.
    if state_key is not None and state_key.startswith("@") and state_key != sender:
        raise deny(rv, "user_state_key", "state_key names another user")
    # 10 [v6–11 9, v1–5 10]. If type is m.room.power_levels: (power_levels.py)
    if etype == "m.room.power_levels":
        check_power_levels_change(event, pl, sender_level, create)
        return
    # 11 [v1–2 only]. If type is m.room.redaction:
    if etype == "m.room.redaction" and rv.redaction_rule_in_auth:
        # 11.1. If the sender's power level is greater than or equal to the redact
        # level, allow.
        if sender_level >= named_level(pl.content if pl else {}, "redact", rv):
            return
        # 11.2. If the domain of the event_id of the event being redacted is the same as
        # the domain of the event_id of the m.room.redaction, allow.
        redacts = event.redacts
        if redacts is not None and _server_of(redacts) == _server_of(event.event_id):
            return
        # 11.3. Otherwise, reject.
        raise deny(rv, "redaction.reject", "sender may not redact events of other servers")
    # 11 [v6–11 10, v3–5 11, v1–2 12]. Otherwise, allow.


def _check_create(event: Event) -> None:
    rv = event.room_version
    pdu = event.pdu
    # 1.1. If it has any prev_events, reject.
    if pdu.get("prev_events"):
        raise deny(rv, "create.prev_events", "m.room.create has prev_events")
    # 1.2. If the event has a room_id, reject (v12); if the domain of the room_id does
    # not match the domain of the sender, reject (v1–11).
    if rv.room_id_is_create_event_id:
        if "room_id" in pdu:
            raise deny(rv, "create.room_id", "a v12 create event has no room_id")
    elif _server_of(event.room_id) != _server_of(event.sender):
        raise deny(rv, "create.room_id", "room ID and sender are of different servers")
    content = event.content
    # 1.3. If content.room_version is present and is not a recognised version, reject.
    if "room_version" in content and content["room_version"] not in KNOWN_ROOM_VERSIONS:
        raise deny(rv, "create.room_version", f"unknown room version {content['room_version']!r}")
    # 1.4 [v1–10]. If content has no creator property, reject.
    if not rv.implicit_room_creator and "creator" not in content:
        raise deny(rv, "create.creator", "m.room.create without creator")
    # 1.4 [v12]. If additional_creators is present in content and is not an array of
    # strings where each string passes the same user ID validation applied to sender,
    # reject.
    if rv.privileged_creators and "additional_creators" in content:
        extra = content["additional_creators"]
        if not isinstance(extra, list) or not all(
            isinstance(u, str) and is_valid_user_id(u) for u in extra
        ):
            raise deny(rv, "create.additional_creators", "additional_creators are not user IDs")
    # 1.5 [v11 1.4]. Otherwise, allow.


def auth_types_for_event(event: Event) -> set[StateKey]:
    """The auth events selection (server-server API): what ``auth_events`` may list.

    Empty for the create event. The create event itself is selected in v1–v11 and
    never in v12 (MSC4291), although ``check_auth`` is always given it.
    """
    etype = event.type
    if etype == CREATE:
        return set()
    rv = event.room_version
    sender = event.sender
    keys = {POWER_LEVELS_KEY, (MEMBER, sender)}
    if not rv.room_id_is_create_event_id:
        keys.add(CREATE_KEY)
    if etype == MEMBER:
        target = event.state_key
        if target is not None:
            keys.add((MEMBER, target))
        content = event.content
        membership = content.get("membership")
        if membership in ("join", "invite", "knock"):
            keys.add(JOIN_RULES_KEY)
        if membership == "invite":
            tpi = content.get("third_party_invite")
            signed = tpi.get("signed") if isinstance(tpi, dict) else None
            token = signed.get("token") if isinstance(signed, dict) else None
            if isinstance(token, str):
                keys.add(("m.room.third_party_invite", token))
        if membership == "join" and rv.restricted_join_rule:
            via = content.get("join_authorised_via_users_server")
            if isinstance(via, str):
                keys.add((MEMBER, via))
    return keys


def auth_state_from_auth_events(
    event: Event,
    auth_events: Iterable[Event],
    *,
    create: Event | None = None,
    rejected: Container[str] = (),
) -> dict[StateKey, Event]:
    """The auth state of ``event`` from the events its ``auth_events`` list.

    Applies the rules about the list itself, which a mapping cannot express, and
    raises AuthError: 3.1 [v1–11 2.1] duplicates, 3.2 [2.2] entries outside the
    auth events selection (in v12, any create event), 3.3 [2.3] entries in
    ``rejected``, 3.4 [2.5] entries of another room. In v12 pass the room's create
    event as ``create``; it is added under ``("m.room.create", "")``.
    """
    rv = event.room_version
    allowed = auth_types_for_event(event)
    room_id = event.room_id
    out: dict[StateKey, Event] = {}
    for auth_event in auth_events:
        key = auth_event.state_entry
        # 3.1 [v1–11 2.1]. If there are duplicate entries for a given type and
        # state_key pair, reject.
        if key in out:
            raise deny(rv, "auth_events.duplicate", f"two auth events for {key}")
        # 3.2 [v1–11 2.2]. If there are entries whose type and state_key don't match
        # those specified by the auth events selection algorithm, reject.
        if not auth_event.is_state or key not in allowed:
            raise deny(rv, "auth_events.selection", f"{key} is not an auth event of this event")
        # 3.3 [v1–11 2.3]. If there are entries which were themselves rejected under the
        # checks performed on receipt of a PDU, reject.
        if auth_event.event_id in rejected:
            raise deny(rv, "auth_events.rejected", f"auth event {auth_event.event_id} was rejected")
        # 3.4 [v1–11 2.5]. If any event in auth_events has a room_id which does not
        # match that of the event being authorised, reject.
        if auth_event.room_id != room_id:
            raise deny(rv, "auth_events.room_id", f"auth event {auth_event.event_id} is elsewhere")
        out[key] = auth_event
    if rv.room_id_is_create_event_id and create is not None:
        out[CREATE_KEY] = create
    return out


def required_signers(event: Event) -> set[str]:
    """The servers whose signatures the checks on receipt must verify on ``event``.

    The sender's server; in v1–v2 also the server of the event ID; for a member
    event naming ``join_authorised_via_users_server`` (v8+), that user's server,
    whose signature the auth rule 5.2.1 [v8–11 4.2.1] presumes verified.
    """
    rv = event.room_version
    servers = {_server_of(event.sender)}
    if not rv.event_ids_are_hashes:
        servers.add(_server_of(event.event_id))
    if rv.restricted_join_rule and event.type == MEMBER:
        via = event.content.get("join_authorised_via_users_server")
        if isinstance(via, str):
            servers.add(_server_of(via))
    return servers
