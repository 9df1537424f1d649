"""The spec's numbering of the auth rules, for every room version.

The numbered list of auth rules is renumbered from version to version: v1–v5
have the ``m.room.aliases`` rule 4, v8 inserts the ``join_authorised_via_users_server``
rule 4.2, v10 inserts two power-level type checks, v12 inserts the room-ID rule 2
and the creators rule 10.4. Rather than hand-writing a number per version at each
rejection, the list's shape is written down once here, each item guarded by the
room-version flag that makes it exist, and a rule's number in a given version is
its position among the items that exist there. ``tests/unit/test_auth_numbering.py``
walks the spec's own Markdown lists for several versions and checks that this
tree has exactly their shape and wording, so a number in an ``AuthError`` is the
number a reader finds in that version's spec page.

Numbers are the rendered ones: where the Markdown source repeats or skips a
number (v12 writes ``3.5`` after ``3.3`` and two ``10.``), the rendered list, and
this module, count on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from ..room_versions import KNOWN_ROOM_VERSIONS, RoomVersion

Flag = Callable[[RoomVersion], bool]
Node = tuple[str, str, Flag, tuple["Node", ...]]
"""``(key, a snippet of the spec's wording, exists in version?, children)``."""


def _all(_rv: RoomVersion) -> bool:
    return True


def n(key: str, snippet: str, *children: Node, when: Flag = _all) -> Node:
    return (key, snippet, when, children)


def _otherwise(key: str, verdict: str = "allow", when: Flag = _all) -> Node:
    return n(key, f"otherwise, {verdict}", when=when)


RULES: tuple[Node, ...] = (
    n(
        "create",
        "if type is `m.room.create`",
        n("create.prev_events", "has any `prev_events`"),
        n("create.room_id", "room_id"),
        n("create.room_version", "`content.room_version` is present"),
        n("create.creator", "no `creator`", when=lambda rv: not rv.implicit_room_creator),
        n(
            "create.additional_creators",
            "`additional_creators` is present",
            when=lambda rv: rv.privileged_creators,
        ),
        _otherwise("create.allow"),
    ),
    n(
        "room_id",
        "`room_id` is not an event id",
        when=lambda rv: rv.room_id_is_create_event_id,
    ),
    n(
        "auth_events",
        "considering the event's `auth_events`",
        n("auth_events.duplicate", "duplicate entries"),
        n("auth_events.selection", "don't match those specified"),
        n("auth_events.rejected", "themselves rejected"),
        n(
            "auth_events.no_create",
            "no `m.room.create` event",
            when=lambda rv: not rv.room_id_is_create_event_id,
        ),
        n("auth_events.room_id", "`room_id` which does not match"),
    ),
    n("federate", "`m.federate`"),
    n(
        "aliases",
        "if type is `m.room.aliases`",
        n("aliases.state_key", "no `state_key`"),
        n("aliases.domain", "domain doesn't match"),
        _otherwise("aliases.allow"),
        when=lambda rv: rv.special_case_aliases_auth,
    ),
    n(
        "member",
        "if type is `m.room.member`",
        n("member.fields", "no `state_key` property"),
        n(
            "member.via",
            "`join_authorised_via_users_server`",
            n("member.via.signed", "not validly signed"),
            when=lambda rv: rv.restricted_join_rule,
        ),
        n(
            "member.join",
            "`membership` is `join`",
            n("member.join.creator", "only previous event is an `m.room.create`"),
            n("member.join.sender", "does not match `state_key`"),
            n("member.join.banned", "is banned"),
            n("member.join.invite", "`join_rule` is `invite`"),
            n(
                "member.join.restricted",
                "`join_rule` is `restricted`",
                n("member.join.restricted.member", "membership state is `join` or `invite`"),
                n("member.join.restricted.via", "sufficient permission"),
                _otherwise("member.join.restricted.allow"),
                when=lambda rv: rv.restricted_join_rule,
            ),
            n("member.join.public", "`join_rule` is `public`"),
            _otherwise("member.join.reject", "reject"),
        ),
        n(
            "member.invite",
            "`membership` is `invite`",
            n(
                "member.invite.tpi",
                "`third_party_invite` property",
                n("member.invite.tpi.banned", "is banned"),
                n("member.invite.tpi.signed", "does not have a `signed`"),
                n("member.invite.tpi.fields", "`mxid` and `token`"),
                n("member.invite.tpi.mxid", "`mxid` does not match"),
                n("member.invite.tpi.token", "no `m.room.third_party_invite` event"),
                n("member.invite.tpi.sender", "`sender` of the"),
                n(
                    "member.invite.tpi.signature",
                    "any signature in `signed`",
                    n("member.invite.tpi.signature.public_key", "`public_key` property"),
                    n("member.invite.tpi.signature.public_keys", "`public_keys` property"),
                ),
                _otherwise("member.invite.tpi.reject", "reject"),
            ),
            n("member.invite.sender", "current membership state is not `join`"),
            n("member.invite.target", "is `join` or"),
            n("member.invite.level", "*invite level*"),
            _otherwise("member.invite.reject", "reject"),
        ),
        n(
            "member.leave",
            "`membership` is `leave`",
            n("member.leave.self", "`sender` matches `state_key`"),
            n("member.leave.sender", "current membership state is not `join`"),
            n("member.leave.banned", "*ban level*"),
            n("member.leave.kick", "*kick level*"),
            _otherwise("member.leave.reject", "reject"),
        ),
        n(
            "member.ban",
            "`membership` is `ban`",
            n("member.ban.sender", "current membership state is not `join`"),
            n("member.ban.level", "*ban level*"),
            _otherwise("member.ban.reject", "reject"),
        ),
        n(
            "member.knock",
            "`membership` is `knock`",
            n("member.knock.join_rule", "anything other than `knock`"),
            n("member.knock.sender", "does not match `state_key`"),
            n("member.knock.membership", "is not `ban`, `invite`"),
            _otherwise("member.knock.reject", "reject"),
            when=lambda rv: rv.knock_join_rule,
        ),
        n("member.unknown", "membership is unknown"),
    ),
    n("sender_joined", "current membership state is not `join`"),
    n(
        "third_party_invite",
        "if type is `m.room.third_party_invite`",
        n("third_party_invite.level", "*invite level*"),
    ),
    n("required_level", "*required power level*"),
    n("user_state_key", "starts with an `@`"),
    n(
        "power_levels",
        "if type is `m.room.power_levels`",
        n(
            "power_levels.int_fields",
            "are present and",
            when=lambda rv: rv.enforce_int_power_levels,
        ),
        n(
            "power_levels.int_maps",
            "`events` or `notifications` in `content`",
            when=lambda rv: rv.enforce_int_power_levels,
        ),
        n("power_levels.users", "`users` property in `content` is not an object"),
        n(
            "power_levels.creators",
            "contains the",
            when=lambda rv: rv.privileged_creators,
        ),
        n("power_levels.no_previous", "no previous `m.room.power_levels`"),
        n(
            "power_levels.named",
            "`users_default`, `events_default`",
            n("power_levels.named.current", "if the current value"),
            n("power_levels.named.new", "if the new value"),
        ),
        n(
            "power_levels.events_removed",
            "changed in, or removed from, the `events`",
            n("power_levels.events_removed.current", "current value is greater"),
        ),
        n(
            "power_levels.events_added",
            "added to, or changed in",
            n("power_levels.events_added.new", "new value is greater"),
        ),
        n(
            "power_levels.users_removed",
            "changed in, or removed from, the `users`",
            n("power_levels.users_removed.current", "greater than or equal"),
        ),
        n(
            "power_levels.users_added",
            "added to, or changed in, the `users`",
            n("power_levels.users_added.new", "new value is greater"),
        ),
        _otherwise("power_levels.allow"),
    ),
    n(
        "redaction",
        "if type is `m.room.redaction`",
        n("redaction.level", "*redact level*"),
        n("redaction.domain", "domain of the `event_id`"),
        _otherwise("redaction.reject", "reject"),
        when=lambda rv: rv.redaction_rule_in_auth,
    ),
    _otherwise("allow"),
)


def _number(nodes: tuple[Node, ...], rv: RoomVersion, prefix: str, out: dict[str, str]) -> None:
    position = 0
    for key, _snippet, when, children in nodes:
        if not when(rv):
            continue
        position += 1
        number = f"{prefix}{position}"
        out[key] = number
        _number(children, rv, number + ".", out)


@functools.cache
def numbers_for(rv: RoomVersion) -> dict[str, str]:
    """``rule key -> "4.3.2"`` for the rules that exist in ``rv``."""
    out: dict[str, str] = {}
    _number(RULES, rv, "", out)
    return out


def rule_number(rv: RoomVersion, key: str) -> str:
    """The spec's number of rule ``key`` in ``rv``, or ``key`` itself if it has none there."""
    return numbers_for(rv).get(key, key)


def all_rule_keys() -> set[str]:
    keys: set[str] = set()
    for rv in KNOWN_ROOM_VERSIONS.values():
        keys.update(numbers_for(rv))
    return keys
