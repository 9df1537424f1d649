"""What push rule evaluation must know at each position of the log, folded into
the ``push_actions`` projection's own tables (read back inside its transaction):

- ``push_users (user_id, rules, position)``: local users (from
  ``account.registered``) and their push rules document (``push_rules.set``);
  ``position`` is the record that last wrote the row (compiled rulesets are
  cached by document text instead: ``push_cache.Templates``);
- ``push_members (room_id, user_id, display_name)``: joined members of each room;
- ``push_rooms (room_id, room_version, create_event, power_levels)``: the create
  and power levels events (PDU JSON), for the sender's power level;
- ``push_threads (event_id, room_id, thread_id)``: events that belong to a
  thread, so an event relating to one (a reaction, an edit) joins its thread;
- ``push_windows (room_id, user_id, joined_at, left_at)``: when each local
  user was a joined member: they are evaluated for the events at positions in
  ``(joined_at, left_at]`` (the state *before* an event counts, so their join
  is outside and their leave inside). A room's shared outcome row
  (``push_room_actions``) applies to exactly the local members whose window
  holds its position. Only users local when they join get a window: a user ID
  of this server joins through this server, which only lets registered users
  join, so no member becomes local later.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tessera.schema.readmodel import Change, Transaction

TABLES = ("push_users", "push_members", "push_rooms", "push_threads", "push_windows")
MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS push_users ("
    " user_id TEXT PRIMARY KEY, rules TEXT, position BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS push_members ("
    " room_id TEXT NOT NULL, user_id TEXT NOT NULL, display_name TEXT,"
    " PRIMARY KEY (room_id, user_id))",
    "CREATE TABLE IF NOT EXISTS push_rooms ("
    " room_id TEXT PRIMARY KEY, room_version TEXT NOT NULL,"
    " create_event TEXT, power_levels TEXT)",
    "CREATE TABLE IF NOT EXISTS push_threads ("
    " event_id TEXT PRIMARY KEY, room_id TEXT NOT NULL, thread_id TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS push_windows ("
    " room_id TEXT NOT NULL, user_id TEXT NOT NULL, joined_at BIGINT NOT NULL,"
    " left_at BIGINT, PRIMARY KEY (user_id, room_id, joined_at))",
)


def user_registered(user_id: str, position: int) -> Change:
    return Change(
        "INSERT INTO push_users (user_id, rules, position) VALUES (?, NULL, ?)"
        " ON CONFLICT (user_id) DO NOTHING",
        (user_id, position),
    )


def rules_set(user_id: str, rules_json: str, position: int) -> Change:
    return Change(
        "INSERT INTO push_users (user_id, rules, position) VALUES (?, ?, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET rules = excluded.rules,"
        " position = excluded.position",
        (user_id, rules_json, position),
    )


def membership(room_id: str, user_id: str, membership: Any, display_name: Any) -> Change:
    if membership == "join":
        name = display_name if isinstance(display_name, str) else None
        return Change(
            "INSERT INTO push_members (room_id, user_id, display_name) VALUES (?, ?, ?)"
            " ON CONFLICT (room_id, user_id) DO UPDATE SET display_name = excluded.display_name",
            (room_id, user_id, name),
        )
    return Change("DELETE FROM push_members WHERE room_id = ? AND user_id = ?", (room_id, user_id))


def window_opened(room_id: str, user_id: str, position: int) -> Change:
    return Change(
        "INSERT INTO push_windows (room_id, user_id, joined_at, left_at) VALUES (?, ?, ?, NULL)"
        " ON CONFLICT DO NOTHING",
        (room_id, user_id, position),
    )


def window_closed(room_id: str, user_id: str, position: int) -> Change:
    return Change(
        "UPDATE push_windows SET left_at = ? WHERE user_id = ? AND room_id = ? AND left_at IS NULL",
        (position, user_id, room_id),
    )


def room_state(room_id: str, room_version: str, column: str, pdu_json: str) -> Change:
    assert column in ("create_event", "power_levels")
    return Change(
        f"INSERT INTO push_rooms (room_id, room_version, {column}) VALUES (?, ?, ?)"
        f" ON CONFLICT (room_id) DO UPDATE SET {column} = excluded.{column}",
        (room_id, room_version, pdu_json),
    )


def in_thread(event_id: str, room_id: str, thread_id: str) -> Change:
    return Change(
        "INSERT INTO push_threads (event_id, room_id, thread_id) VALUES (?, ?, ?)"
        " ON CONFLICT (event_id) DO NOTHING",
        (event_id, room_id, thread_id),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Member:
    user_id: str
    display_name: str | None
    #: Local user: their rules document (None: the defaults) and its position.
    local: bool
    rules: str | None
    rules_position: int


@dataclasses.dataclass(frozen=True, slots=True)
class RoomView:
    members: list[Member]
    create_event: str | None
    power_levels: str | None


def load_room(tx: Transaction, room_id: str) -> RoomView:
    """The room's joined members (local ones with their rules) and its power state."""
    rows = tx.fetchall(
        "SELECT m.user_id, m.display_name, u.user_id, u.rules, u.position"
        " FROM push_members m LEFT JOIN push_users u ON u.user_id = m.user_id"
        " WHERE m.room_id = ?",
        (room_id,),
    )
    members = [Member(r[0], r[1], r[2] is not None, r[3], int(r[4] or 0)) for r in rows]
    room = tx.fetchone(
        "SELECT create_event, power_levels FROM push_rooms WHERE room_id = ?", (room_id,)
    )
    if room is None:
        return RoomView(members, None, None)
    return RoomView(members, room[0], room[1])


def load_user(tx: Transaction, user_id: str) -> Member | None:
    """A local user who is not (yet) a member: an invitee."""
    row = tx.fetchone("SELECT rules, position FROM push_users WHERE user_id = ?", (user_id,))
    if row is None:
        return None
    return Member(user_id, None, True, row[0], int(row[1]))


def thread_of(tx: Transaction, event_id: str) -> str | None:
    row = tx.fetchone("SELECT thread_id FROM push_threads WHERE event_id = ?", (event_id,))
    return None if row is None else str(row[0])
