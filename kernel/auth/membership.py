"""The ``m.room.member`` auth rule (v12 rule 5; v6–v11 rule 4; v1–v5 rule 5).

Comments give each rule's v12 number, then in brackets its number in the older
versions where it differs (``numbering.py`` holds the tree, checked against the
spec's text); an ``AuthError`` carries the number for the event's own version.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..b64 import decode_base64
from ..events import Event, StateKey
from ..signing import verify_json
from .errors import deny
from .power_levels import level_of_user, named_level, original_creator
from .state import JOIN_RULES_KEY, MEMBER, POWER_LEVELS_KEY, fetch, membership_of

_JOINED_OR_INVITED = ("join", "invite")
_NOT_KNOCKABLE = ("ban", "invite", "join")


def _server_of(user_id: str) -> str:
    return user_id.partition(":")[2]


def check_member(event: Event, auth_state: Mapping[StateKey, Event], create: Event) -> None:
    """Allow (return) or reject (raise AuthError) a member event."""
    rv = event.room_version
    content = event.content
    target = event.state_key
    membership = content.get("membership")
    sender = event.sender
    # 5.1 [v6–11 4.1, v1–5 5.1]. If there is no state_key property, or no membership
    # property in content, reject.
    if target is None or "membership" not in content:
        raise deny(rv, "member.fields", "member event without state_key or membership")
    via = content.get("join_authorised_via_users_server")
    if rv.restricted_join_rule and "join_authorised_via_users_server" in content:
        # 5.2.1 [v8–11 4.2.1]. If content has a join_authorised_via_users_server key:
        # if the event is not validly signed by the homeserver of the user ID denoted
        # by the key, reject.
        # The signature's cryptographic check belongs to the checks on receipt of a
        # PDU (``required_signers`` names this server so they verify it); the pure
        # rules can only insist the signature is there.
        signatures = event.pdu.get("signatures")
        server = _server_of(via) if isinstance(via, str) else ""
        if not (server and isinstance(signatures, dict) and signatures.get(server)):
            raise deny(rv, "member.via.signed", f"not signed by {server or via!r}")

    target_membership = membership_of(auth_state, target, event)
    pl = fetch(auth_state, POWER_LEVELS_KEY, event)

    if membership == "join":
        _check_join(event, auth_state, create, pl, target_membership, via=via)
        return
    if membership == "invite":
        _check_invite(event, auth_state, create, pl, target_membership)
        return
    sender_membership = (
        target_membership if sender == target else membership_of(auth_state, sender, event)
    )
    if membership == "leave":
        # 5.5.1 [v8–11 4.5.1, v6–7 4.4.1, v1–5 5.4.1]. If the sender matches state_key,
        # allow if and only if that user's current membership state is invite, join,
        # or (v7+) knock.
        if sender == target:
            if target_membership in _JOINED_OR_INVITED or (
                rv.knock_join_rule and target_membership == "knock"
            ):
                return
            raise deny(rv, "member.leave.self", f"cannot leave from {target_membership!r}")
        # 5.5.2 [v8–11 4.5.2, v6–7 4.4.2, v1–5 5.4.2]. If the sender's current membership
        # state is not join, reject.
        if sender_membership != "join":
            raise deny(rv, "member.leave.sender", "sender is not joined")
        sender_level = level_of_user(sender, pl, create)
        pl_content = pl.content if pl is not None else {}
        # 5.5.3 [v8–11 4.5.3, v6–7 4.4.3, v1–5 5.4.3]. If the target user's current
        # membership state is ban, and the sender's power level is less than the ban
        # level, reject.
        if target_membership == "ban" and sender_level < named_level(pl_content, "ban", rv):
            raise deny(rv, "member.leave.banned", "sender may not unban")
        # 5.5.4 [v8–11 4.5.4, v6–7 4.4.4, v1–5 5.4.4]. If the sender's power level is
        # greater than or equal to the kick level, and the target user's power level is
        # less than the sender's power level, allow.
        if (
            sender_level >= named_level(pl_content, "kick", rv)
            and level_of_user(target, pl, create) < sender_level
        ):
            return
        # 5.5.5 [v8–11 4.5.5, v6–7 4.4.5, v1–5 5.4.5]. Otherwise, reject.
        raise deny(rv, "member.leave.reject", "sender may not kick the target")
    if membership == "ban":
        # 5.6.1 [v8–11 4.6.1, v6–7 4.5.1, v1–5 5.5.1]. If the sender's current membership
        # state is not join, reject.
        if sender_membership != "join":
            raise deny(rv, "member.ban.sender", "sender is not joined")
        # 5.6.2 [v8–11 4.6.2, v6–7 4.5.2, v1–5 5.5.2]. If the sender's power level is
        # greater than or equal to the ban level, and the target user's power level is
        # less than the sender's power level, allow.
        sender_level = level_of_user(sender, pl, create)
        pl_content = pl.content if pl is not None else {}
        if (
            sender_level >= named_level(pl_content, "ban", rv)
            and level_of_user(target, pl, create) < sender_level
        ):
            return
        # 5.6.3 [v8–11 4.6.3, v6–7 4.5.3, v1–5 5.5.3]. Otherwise, reject.
        raise deny(rv, "member.ban.reject", "sender may not ban the target")
    if membership == "knock" and rv.knock_join_rule:
        # 5.7.1 [v8–11 4.7.1, v7 4.6.1]. If the join_rule is anything other than knock
        # or (v10+) knock_restricted, reject.
        join_rule = _join_rule(auth_state, event)
        if not (
            join_rule == "knock"
            or (rv.knock_restricted_join_rule and join_rule == "knock_restricted")
        ):
            raise deny(rv, "member.knock.join_rule", f"join rule {join_rule!r} forbids knocking")
        # 5.7.2 [v8–11 4.7.2, v7 4.6.2]. If sender does not match state_key, reject.
        if sender != target:
            raise deny(rv, "member.knock.sender", "cannot knock for someone else")
        # 5.7.3 [v8–11 4.7.3, v7 4.6.3]. If the sender's current membership is not ban,
        # invite, or join, allow.
        if sender_membership not in _NOT_KNOCKABLE:
            return
        # 5.7.4 [v8–11 4.7.4, v7 4.6.4]. Otherwise, reject.
        raise deny(rv, "member.knock.reject", f"cannot knock from {sender_membership!r}")
    # 5.8 [v8–11 4.8, v7 4.7, v6 4.6, v1–5 5.6]. Otherwise, the membership is unknown. Reject.
    raise deny(rv, "member.unknown", f"unknown membership {membership!r}")


def _join_rule(auth_state: Mapping[StateKey, Event], event: Event) -> str:
    join_rules = fetch(auth_state, JOIN_RULES_KEY, event)
    if join_rules is None:
        # A room without m.room.join_rules is invite-only, as in the reference
        # implementation: the rules only say what each join_rule value allows.
        return "invite"
    rule = join_rules.content.get("join_rule")
    return rule if isinstance(rule, str) else ""


def _check_join(
    event: Event,
    auth_state: Mapping[StateKey, Event],
    create: Event,
    pl: Event | None,
    membership: str | None,
    *,
    via: Any,
) -> None:
    rv = event.room_version
    target = event.state_key
    # 5.3.1 [v8–11 4.3.1, v6–7 4.2.1, v1–5 5.2.1]. If the only previous event is an
    # m.room.create and the state_key is the creator (v11+: the sender of the
    # m.room.create; in v12 not the additional_creators, who join like anyone), allow.
    prev = event.prev_event_ids
    if len(prev) == 1 and prev[0] == create.event_id and target == original_creator(create):
        return
    # 5.3.2 [v8–11 4.3.2, v6–7 4.2.2, v1–5 5.2.2]. If the sender does not match
    # state_key, reject.
    if event.sender != target:
        raise deny(rv, "member.join.sender", "cannot join on behalf of someone else")
    # 5.3.3 [v8–11 4.3.3, v6–7 4.2.3, v1–5 5.2.3]. If the sender is banned, reject.
    if membership == "ban":
        raise deny(rv, "member.join.banned", "sender is banned")
    join_rule = _join_rule(auth_state, event)
    # 5.3.4 [v8–11 4.3.4, v6–7 4.2.4, v1–5 5.2.4]. If the join_rule is invite or (v7+)
    # knock then allow if membership state is invite or join.
    if join_rule == "invite" or (rv.knock_join_rule and join_rule == "knock"):
        if membership in _JOINED_OR_INVITED:
            return
        raise deny(rv, "member.join.invite", f"join rule {join_rule!r} needs an invite")
    # 5.3.5 [v8–11 4.3.5]. If the join_rule is restricted or (v10+) knock_restricted:
    if (rv.restricted_join_rule and join_rule == "restricted") or (
        rv.knock_restricted_join_rule and join_rule == "knock_restricted"
    ):
        # 5.3.5.1 [v8–11 4.3.5.1]. If membership state is join or invite, allow.
        if membership in _JOINED_OR_INVITED:
            return
        # 5.3.5.2 [v8–11 4.3.5.2]. If the join_authorised_via_users_server key in
        # content is not a user with sufficient permission to invite other users or is
        # not a joined member of the room, reject.
        if not isinstance(via, str) or membership_of(auth_state, via, event) != "join":
            raise deny(rv, "member.join.restricted.via", f"{via!r} is not a joined member")
        pl_content = pl.content if pl is not None else {}
        if level_of_user(via, pl, create) < named_level(pl_content, "invite", rv):
            raise deny(rv, "member.join.restricted.via", f"{via} may not invite")
        # 5.3.5.3 [v8–11 4.3.5.3]. Otherwise, allow.
        return
    # 5.3.6 [v8–11 4.3.6, v6–7 4.2.5, v1–5 5.2.5]. If the join_rule is public, allow.
    if join_rule == "public":
        return
    # 5.3.7 [v8–11 4.3.7, v6–7 4.2.6, v1–5 5.2.6]. Otherwise, reject.
    raise deny(rv, "member.join.reject", f"join rule {join_rule!r} does not allow joining")


def _check_invite(
    event: Event,
    auth_state: Mapping[StateKey, Event],
    create: Event,
    pl: Event | None,
    membership: str | None,
) -> None:
    rv = event.room_version
    content = event.content
    # 5.4.1 [v8–11 4.4.1, v6–7 4.3.1, v1–5 5.3.1]. If content has a
    # third_party_invite property:
    if "third_party_invite" in content:
        _check_third_party_invite(event, auth_state, content["third_party_invite"], membership)
        return
    # 5.4.2 [v8–11 4.4.2, v6–7 4.3.2, v1–5 5.3.2]. If the sender's current membership
    # state is not join, reject.
    if membership_of(auth_state, event.sender, event) != "join":
        raise deny(rv, "member.invite.sender", "sender is not joined")
    # 5.4.3 [v8–11 4.4.3, v6–7 4.3.3, v1–5 5.3.3]. If target user's current membership
    # state is join or ban, reject.
    if membership in ("join", "ban"):
        raise deny(rv, "member.invite.target", f"target is already {membership}")
    # 5.4.4 [v8–11 4.4.4, v6–7 4.3.4, v1–5 5.3.4]. If the sender's power level is
    # greater than or equal to the invite level, allow.
    pl_content = pl.content if pl is not None else {}
    if level_of_user(event.sender, pl, create) >= named_level(pl_content, "invite", rv):
        return
    # 5.4.5 [v8–11 4.4.5, v6–7 4.3.5, v1–5 5.3.5]. Otherwise, reject.
    raise deny(rv, "member.invite.reject", "sender may not invite")


def _check_third_party_invite(
    event: Event, auth_state: Mapping[StateKey, Event], tpi: Any, membership: str | None
) -> None:
    rv = event.room_version
    # 5.4.1.1 [v8–11 4.4.1.1, v6–7 4.3.1.1, v1–5 5.3.1.1]. If target user is banned, reject.
    if membership == "ban":
        raise deny(rv, "member.invite.tpi.banned", "target is banned")
    # 5.4.1.2. If content.third_party_invite does not have a signed property, reject.
    signed = tpi.get("signed") if isinstance(tpi, dict) else None
    if not isinstance(signed, dict):
        raise deny(rv, "member.invite.tpi.signed", "third_party_invite has no 'signed'")
    # 5.4.1.3. If signed does not have mxid and token properties, reject.
    mxid, token = signed.get("mxid"), signed.get("token")
    if not isinstance(mxid, str) or not isinstance(token, str):
        raise deny(rv, "member.invite.tpi.fields", "'signed' lacks mxid or token")
    # 5.4.1.4. If mxid does not match state_key, reject.
    if mxid != event.state_key:
        raise deny(rv, "member.invite.tpi.mxid", "mxid does not match state_key")
    # 5.4.1.5. If there is no m.room.third_party_invite event in the current room state
    # with state_key matching token, reject.
    invite = fetch(auth_state, ("m.room.third_party_invite", token), event)
    if invite is None:
        raise deny(rv, "member.invite.tpi.token", f"no third-party invite for token {token!r}")
    # 5.4.1.6. If sender does not match sender of the m.room.third_party_invite, reject.
    if invite.sender != event.sender:
        raise deny(rv, "member.invite.tpi.sender", "sender did not make the third-party invite")
    # 5.4.1.7. If any signature in signed matches any public key in the
    # m.room.third_party_invite event, allow. The public keys are in content as
    # 5.4.1.7.1. a single public key in the public_key property, and
    # 5.4.1.7.2. a list of public keys in the public_keys property.
    if _signed_by_any(signed, _public_keys(invite.content)):
        return
    # 5.4.1.8. Otherwise, reject.
    raise deny(rv, "member.invite.tpi.reject", "no valid signature on the third-party invite")


def _public_keys(content: Mapping[str, Any]) -> list[bytes]:
    encoded: list[Any] = [content.get("public_key")]
    listed = content.get("public_keys")
    if isinstance(listed, list):
        encoded.extend(k.get("public_key") for k in listed if isinstance(k, dict))
    keys: list[bytes] = []
    for text in encoded:
        if isinstance(text, str):
            try:
                keys.append(decode_base64(text))
            except ValueError:
                continue
    return keys


def _signed_by_any(signed: dict[str, Any], keys: list[bytes]) -> bool:
    signatures = signed.get("signatures")
    if not isinstance(signatures, dict):
        return False
    for server, by_key in signatures.items():
        if not isinstance(by_key, dict):
            continue
        for key_id in by_key:
            if any(verify_json(signed, server, key_id, key) for key in keys if len(key) == 32):
                return True
    return False


__all__ = ["MEMBER", "check_member"]
