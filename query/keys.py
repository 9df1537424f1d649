"""``/keys/query``: the device and cross-signing keys of users, as a requester sees them.

Blocking reads of the ``device_keys`` read model (run in a thread). Signatures
published separately (``/keys/signatures/upload``) are merged into the keys they
sign: everyone sees a user's signatures of their own keys; a signature of
another user's master key (by a user-signing key) only its signer sees, and
only the user themself sees their user-signing key, as the spec says.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from tessera.schema.readmodel import ReadModelDatabase

CHUNK = 500


def chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


def marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def _rows(
    db: ReadModelDatabase, sql: str, users: Sequence[str], *extra: Any
) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for part in chunks(users):
        out += db.iter_rows(sql.format(marks=marks(part)), (*part, *extra))
    return out


def _add_signature(obj: dict[str, Any], signer: str, key_id: str, signature: str) -> None:
    obj.setdefault("signatures", {}).setdefault(signer, {})[key_id] = signature


def query_keys(
    db: ReadModelDatabase, requester: str, wanted: dict[str, list[str]]
) -> dict[str, Any]:
    """The response body for ``wanted`` (local users; ``[]`` means every device)."""
    users = sorted(wanted)
    devices: dict[str, dict[str, Any]] = {u: {} for u in users}
    for user_id, device_id, keys in _rows(
        db, "SELECT user_id, device_id, keys FROM e2e_device_keys WHERE user_id IN ({marks})", users
    ):
        if not wanted[user_id] or device_id in wanted[user_id]:
            devices[user_id][device_id] = orjson.loads(keys)
    for user_id, device_id, display_name in _rows(
        db,
        "SELECT user_id, device_id, display_name FROM accounts_devices WHERE user_id IN ({marks})",
        users,
    ):
        obj = devices[user_id].get(device_id)
        if obj is not None and display_name is not None:
            obj.setdefault("unsigned", {})["device_display_name"] = display_name
    cross: dict[str, dict[str, dict[str, Any]]] = {}
    by_public: dict[tuple[str, str], dict[str, Any]] = {}
    for user_id, key_type, key in _rows(
        db,
        "SELECT user_id, key_type, key FROM e2e_cross_signing_keys WHERE user_id IN ({marks})",
        users,
    ):
        if key_type == "user_signing" and user_id != requester:
            continue
        obj = orjson.loads(key)
        cross.setdefault(key_type, {})[user_id] = obj
        for public in obj["keys"].values():
            by_public[(user_id, public)] = obj
    for signer, target_user, target_key, key_id, signature in _rows(
        db,
        "SELECT signer_user, target_user, target_key, signer_key_id, signature"
        " FROM e2e_key_signatures WHERE target_user IN ({marks})"
        " AND (signer_user = target_user OR signer_user = ?)",
        users,
        requester,
    ):
        target = devices[target_user].get(target_key) or by_public.get((target_user, target_key))
        if target is not None:
            _add_signature(target, signer, key_id, signature)
    body: dict[str, Any] = {"device_keys": devices, "failures": {}}
    for key_type in ("master", "self_signing", "user_signing"):
        body[f"{key_type}_keys"] = cross.get(key_type, {})
    return body


def shared_users_sql() -> str:
    """Users sharing a room with ``?`` (joined or invited where ``?`` is joined)."""
    return (
        "SELECT o.state_key FROM current_state m JOIN current_state o ON o.room_id = m.room_id"
        " WHERE m.type = 'm.room.member' AND m.state_key = ? AND m.membership = 'join'"
        " AND o.type = 'm.room.member' AND o.membership IN ('join', 'invite')"
    )


def device_list_changes(
    db: ReadModelDatabase, user_id: str, since: int, upto: int
) -> tuple[list[str], list[str]]:
    """``(changed, left)`` over ``(since, upto]``: users sharing a room whose keys
    changed or who newly share one, and users who no longer share any room."""
    shared = {str(r[0]) for r in db.iter_rows(shared_users_sql(), (user_id,))}
    changed = {
        str(r[0])
        for r in db.iter_rows(
            "SELECT user_id FROM e2e_device_list_changes WHERE position > ? AND position <= ?"
            f" AND (user_id = ? OR user_id IN ({shared_users_sql()}))",
            (since, upto, user_id, user_id),
        )
    }
    rooms = [
        str(r[0])
        for r in db.iter_rows(
            "SELECT DISTINCT room_id FROM state_changes WHERE type = 'm.room.member'"
            " AND state_key = ? AND position > ? AND position <= ?",
            (user_id, since, upto),
        )
    ]
    left: set[str] = set()
    for member, membership in db.iter_rows(
        "SELECT s.state_key, s.membership FROM state_changes s"
        " WHERE s.type = 'm.room.member' AND s.position > ? AND s.position <= ?"
        " AND s.room_id IN (SELECT room_id FROM current_state WHERE type = 'm.room.member'"
        " AND state_key = ? AND membership = 'join')",
        (since, upto, user_id),
    ):
        if member != user_id and membership in ("join", "invite"):
            changed.add(str(member))
        elif member != user_id:
            left.add(str(member))
    # Rooms the user joined or left in the window: all their members are news.
    for part in chunks(list(rooms)):
        for (member,) in db.iter_rows(
            "SELECT state_key FROM current_state WHERE type = 'm.room.member'"
            f" AND room_id IN ({marks(part)})",
            tuple(part),
        ):
            (changed if str(member) in shared else left).add(str(member))
    left = {u for u in left if u not in shared and u != user_id}
    changed = {u for u in changed if u in shared or u == user_id}
    return sorted(changed), sorted(left)
