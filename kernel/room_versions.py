"""Room versions as data.

Each room version is one immutable value whose flags name every behaviour that
differs between versions. Code asks a flag (``version.knock_join_rule``), never
the version string, so adding a version is adding one value here.
"""

from __future__ import annotations

import dataclasses
import enum


class EventIdFormat(enum.Enum):
    """How an event's ID is obtained."""

    #: v1, v2: chosen by the origin server (``$localpart:server``), carried in the PDU.
    SERVER_GENERATED = "server_generated"
    #: v3: ``$`` + standard unpadded base64 of the reference hash.
    REFERENCE_HASH_BASE64 = "reference_hash_base64"
    #: v4+: ``$`` + URL-safe unpadded base64 of the reference hash.
    REFERENCE_HASH_URLSAFE = "reference_hash_urlsafe"


class StateResAlgorithm(enum.Enum):
    V1 = "v1"
    V2 = "v2"
    #: MSC4297: v2 starting from the empty state and including the conflicted subgraph.
    V2_1 = "v2.1"


@dataclasses.dataclass(frozen=True, slots=True)
class RoomVersion:
    identifier: str
    event_id_format: EventIdFormat
    state_res: StateResAlgorithm
    #: v5+: a signature only counts if made while the key was valid (``valid_until_ts``).
    enforce_key_validity: bool
    #: v1–v5: ``m.room.aliases`` is authorised by the sender's server name alone
    #: (auth rule 4 of v1), and keeps ``aliases`` when redacted.
    special_case_aliases_auth: bool
    #: v6+: integers outside ±(2^53−1) and floats make a PDU invalid.
    strict_canonical_json: bool
    #: v6+: changes to ``notifications`` in power levels are checked like ``events``.
    limit_notifications_power_levels: bool
    #: v1–v2: the ``m.room.redaction`` rule (redact level, or same server) is an auth
    #: rule; from v3 it is checked when the redaction is applied instead.
    redaction_rule_in_auth: bool
    #: v7+: the ``knock`` membership and join rule.
    knock_join_rule: bool
    #: v8+: the ``restricted`` join rule and ``join_authorised_via_users_server``.
    restricted_join_rule: bool
    #: v8+: redaction keeps ``allow`` of ``m.room.join_rules``.
    redaction_keeps_join_rules_allow: bool
    #: v9+: redaction keeps ``join_authorised_via_users_server`` of ``m.room.member``.
    redaction_keeps_join_authorised_via: bool
    #: v10+: the ``knock_restricted`` join rule.
    knock_restricted_join_rule: bool
    #: v10+: power levels must be integers, never strings.
    enforce_int_power_levels: bool
    #: v11+: the create event's ``sender`` is the creator; ``content.creator`` is
    #: neither required nor kept specially.
    implicit_room_creator: bool
    #: v11+: the redaction algorithm of MSC2176/MSC3821/MSC3989 (top-level ``origin``,
    #: ``membership`` and ``prev_state`` dropped; all of the create content kept;
    #: ``invite`` of power levels, ``redacts`` of redactions and
    #: ``third_party_invite.signed`` of members kept).
    updated_redaction_rules: bool
    #: v11+: ``redacts`` lives in the content of ``m.room.redaction``.
    redacts_in_content: bool
    #: v12+ (MSC4289): the create event's sender and ``additional_creators`` have
    #: infinite power and may not be listed in ``m.room.power_levels``.
    privileged_creators: bool
    #: v12+ (MSC4291): the room ID is the create event's ID with sigil ``!``; the
    #: create event has no ``room_id`` and is never an auth event.
    room_id_is_create_event_id: bool

    @property
    def event_ids_are_hashes(self) -> bool:
        return self.event_id_format is not EventIdFormat.SERVER_GENERATED


_V1 = RoomVersion(
    identifier="1",
    event_id_format=EventIdFormat.SERVER_GENERATED,
    state_res=StateResAlgorithm.V1,
    enforce_key_validity=False,
    special_case_aliases_auth=True,
    strict_canonical_json=False,
    limit_notifications_power_levels=False,
    redaction_rule_in_auth=True,
    knock_join_rule=False,
    restricted_join_rule=False,
    redaction_keeps_join_rules_allow=False,
    redaction_keeps_join_authorised_via=False,
    knock_restricted_join_rule=False,
    enforce_int_power_levels=False,
    implicit_room_creator=False,
    updated_redaction_rules=False,
    redacts_in_content=False,
    privileged_creators=False,
    room_id_is_create_event_id=False,
)
_V2 = dataclasses.replace(_V1, identifier="2", state_res=StateResAlgorithm.V2)
_V3 = dataclasses.replace(
    _V2,
    identifier="3",
    event_id_format=EventIdFormat.REFERENCE_HASH_BASE64,
    redaction_rule_in_auth=False,
)
_V4 = dataclasses.replace(_V3, identifier="4", event_id_format=EventIdFormat.REFERENCE_HASH_URLSAFE)
_V5 = dataclasses.replace(_V4, identifier="5", enforce_key_validity=True)
_V6 = dataclasses.replace(
    _V5,
    identifier="6",
    special_case_aliases_auth=False,
    strict_canonical_json=True,
    limit_notifications_power_levels=True,
)
_V7 = dataclasses.replace(_V6, identifier="7", knock_join_rule=True)
_V8 = dataclasses.replace(
    _V7, identifier="8", restricted_join_rule=True, redaction_keeps_join_rules_allow=True
)
_V9 = dataclasses.replace(_V8, identifier="9", redaction_keeps_join_authorised_via=True)
_V10 = dataclasses.replace(
    _V9, identifier="10", knock_restricted_join_rule=True, enforce_int_power_levels=True
)
_V11 = dataclasses.replace(
    _V10,
    identifier="11",
    implicit_room_creator=True,
    updated_redaction_rules=True,
    redacts_in_content=True,
)
_V12 = dataclasses.replace(
    _V11,
    identifier="12",
    state_res=StateResAlgorithm.V2_1,
    privileged_creators=True,
    room_id_is_create_event_id=True,
)

KNOWN_ROOM_VERSIONS: dict[str, RoomVersion] = {
    v.identifier: v for v in (_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8, _V9, _V10, _V11, _V12)
}

#: The version of rooms created without an explicit ``room_version``.
DEFAULT_ROOM_VERSION = _V12


class UnknownRoomVersion(ValueError):
    def __init__(self, identifier: object) -> None:
        super().__init__(f"unknown room version {identifier!r}")
        self.identifier = identifier


def room_version(identifier: str) -> RoomVersion:
    """The room version named ``identifier``; raises UnknownRoomVersion."""
    try:
        return KNOWN_ROOM_VERSIONS[identifier]
    except (KeyError, TypeError):
        raise UnknownRoomVersion(identifier) from None
