"""Push rule evaluation as a read model (projection ``push_actions``).

For each room event, every local member of the room except the sender (plus a
local invitee, for ``.m.rule.invite_for_me``) has their push rules evaluated
(``tessera.kernel.push``); an event that notifies or highlights someone writes
one row per such user to ``event_push_actions``. Unread counts are not stored:
the query side counts these rows after the user's read position and up to the
sync token (``tessera.query.push``), so a count always agrees with the events a
response carries.

Evaluation needs the room's members, display names and power levels and each
user's rules *as of the event*: this projection folds them into its own tables
(``push_state``) and reads them back in the same transaction
(``apply_with``, see ``projections/runner.py``). Everything read is derived from
the log before the record, so a replay writes the same rows.

``push_own_reads (room_id, user_id, thread_id, position)``: a user's own event
counts as a read receipt for them (the spec: "either by using the API or by
sending an event"); ``thread_id`` ``''`` for an event of the main timeline
(it reads the whole room), the thread root's ID for an event in a thread.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from typing import Any

import orjson

from tessera.kernel.auth.power_levels import level_of_user, parse_level
from tessera.kernel.events import Event
from tessera.kernel.push import CompiledRuleset, PushContext, compile_ruleset
from tessera.kernel.push.conditions import Recipient
from tessera.kernel.room_versions import UnknownRoomVersion, room_version
from tessera.schema.accounts import Registered
from tessera.schema.log import LogRecord
from tessera.schema.push_rules import ME, merged_ruleset
from tessera.schema.readmodel import Change, Transaction
from tessera.schema.records import PDU, PduRecord
from tessera.schema.userdata import PUSH_RULES_SET, PushRulesSet, encode, stream_user

from . import push_state
from .push_state import Member

MAIN = "main"
_STATE_COLUMNS = {"m.room.create": "create_event", "m.room.power_levels": "power_levels"}
_COLUMNS = 9
_INSERT = (
    "INSERT INTO event_push_actions (user_id, room_id, position, event_id, thread_id,"
    " notify, highlight, actions, ts) VALUES "
)
_ROW = "(" + ", ".join("?" * _COLUMNS) + ")"


@lru_cache(maxsize=4096)
def _state_event(pdu_json: str | None, version: str) -> Event | None:
    if pdu_json is None:
        return None
    return Event(orjson.loads(pdu_json), room_version(version))


def _notification_levels(pl: Event | None) -> dict[str, int]:
    if pl is None:
        return {}
    raw = pl.content.get("notifications")
    if not isinstance(raw, dict):
        return {}
    levels: dict[str, int] = {}
    for key, value in raw.items():
        level = parse_level(value, pl.room_version)
        if level is not None:
            levels[key] = level
    return levels


class PushActionsProjection:
    name = "push_actions"
    tables: tuple[str, ...] = (*push_state.TABLES, "event_push_actions", "push_own_reads")
    migrations: tuple[str, ...] = (
        *push_state.MIGRATIONS,
        "CREATE TABLE IF NOT EXISTS event_push_actions ("
        " user_id TEXT NOT NULL, room_id TEXT NOT NULL, position BIGINT NOT NULL,"
        " event_id TEXT NOT NULL, thread_id TEXT NOT NULL, notify SMALLINT NOT NULL,"
        " highlight SMALLINT NOT NULL, actions TEXT NOT NULL, ts BIGINT NOT NULL,"
        " PRIMARY KEY (user_id, position))",
        "CREATE INDEX IF NOT EXISTS event_push_actions_room"
        " ON event_push_actions (user_id, room_id, position)",
        "CREATE TABLE IF NOT EXISTS push_own_reads ("
        " room_id TEXT NOT NULL, user_id TEXT NOT NULL, thread_id TEXT NOT NULL,"
        " position BIGINT NOT NULL, PRIMARY KEY (room_id, user_id, thread_id))",
    )

    def __init__(self, *, evaluate: bool = True, max_cached: int = 50_000) -> None:
        #: False: fold the state but evaluate nothing (the benchmark's baseline;
        #: events seen meanwhile never notify).
        self.evaluate = evaluate
        self._rulesets: OrderedDict[str | None, CompiledRuleset] = OrderedDict()
        self._max_cached = max_cached

    def apply(self, record: LogRecord) -> list[Change]:
        raise TypeError("push_actions reads its own tables: the runner calls apply_with")

    def apply_with(self, tx: Transaction, record: LogRecord) -> list[Change]:
        if record.kind == PDU:
            return self._pdu(tx, record)
        if record.kind == Registered.KIND:
            return [push_state.user_registered(record.stream, record.position)]
        if record.kind == PUSH_RULES_SET:
            user_id = stream_user(record.stream)
            if user_id is None:
                return []
            rules = encode(PushRulesSet.decode(record.payload).rules).decode()
            return [push_state.rules_set(user_id, rules, record.position)]
        return []

    # -- PDUs -------------------------------------------------------------------

    def _pdu(self, tx: Transaction, record: LogRecord) -> list[Change]:
        body = PduRecord.decode(record.payload)
        if not self.evaluate and not body.is_state_change:
            return []
        try:
            rv = room_version(body.room_version)
        except UnknownRoomVersion:
            return []
        pdu = body.pdu()
        event = Event(pdu, rv, event_id=body.event_id)
        room_id = event.room_id or record.stream
        changes: list[Change] = []
        if self.evaluate:
            changes += self._evaluate(tx, record.position, event, pdu, room_id)
            if event.type == "m.room.redaction" and event.redacts:
                # No index on event_id (it would cost every insert): the
                # members' rows in the room are few enough to scan.
                changes.append(
                    Change(
                        "DELETE FROM event_push_actions WHERE room_id = ? AND event_id = ?"
                        " AND user_id IN (SELECT user_id FROM push_members WHERE room_id = ?)",
                        (room_id, event.redacts, room_id),
                    )
                )
        if body.is_state_change:
            changes += self._fold_state(event, body, room_id)
        return changes

    def _fold_state(self, event: Event, body: PduRecord, room_id: str) -> list[Change]:
        if event.type == "m.room.member" and event.state_key is not None:
            content = event.content
            return [
                push_state.membership(
                    room_id, event.state_key, content.get("membership"), content.get("displayname")
                )
            ]
        if event.state_key == "" and event.type == "m.room.create":
            return [
                push_state.room_state(room_id, body.room_version, "create_event", body.pdu_json)
            ]
        if event.state_key == "" and event.type == "m.room.power_levels":
            return [
                push_state.room_state(room_id, body.room_version, "power_levels", body.pdu_json)
            ]
        return []

    def _thread(self, tx: Transaction, event: Event, room_id: str, changes: list[Change]) -> str:
        relates = event.content.get("m.relates_to")
        if not isinstance(relates, dict) or not isinstance(relates.get("event_id"), str):
            return MAIN
        target: str = relates["event_id"]
        if relates.get("rel_type") == "m.thread":
            thread = target
        else:
            # One hop per event: the target's own thread was found when it arrived.
            found = push_state.thread_of(tx, target)
            if found is None:
                return MAIN
            thread = found
        changes.append(push_state.in_thread(event.event_id, room_id, thread))
        return thread

    def _evaluate(
        self, tx: Transaction, position: int, event: Event, pdu: dict[str, Any], room_id: str
    ) -> list[Change]:
        changes: list[Change] = []
        thread = self._thread(tx, event, room_id, changes)
        room = push_state.load_room(tx, room_id)
        sender = event.sender
        candidates = [m for m in room.members if m.local and m.user_id != sender]
        sender_local = any(m.user_id == sender and m.local for m in room.members) or (
            event.type == "m.room.member" and push_state.load_user(tx, sender) is not None
        )
        if sender_local:  # a joining user has read the invite
            changes.append(
                Change(
                    "INSERT INTO push_own_reads (room_id, user_id, thread_id, position)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (room_id, user_id, thread_id)"
                    " DO UPDATE SET position = excluded.position",
                    (room_id, sender, "" if thread == MAIN else thread, position),
                )
            )
        invitee = self._invitee(tx, event, room.members)
        if invitee is not None:
            candidates.append(invitee)
        if not candidates:
            return changes
        version = event.room_version.identifier
        create = _state_event(room.create_event, version)
        pl = _state_event(room.power_levels, version)
        power = level_of_user(sender, pl, create)
        ctx = PushContext(pdu, len(room.members), float(power), _notification_levels(pl))
        params: list[Any] = []
        by_rules: dict[str | None, list[Member]] = {}
        for member in candidates:
            by_rules.setdefault(member.rules, []).append(member)
        for rules, members in by_rules.items():
            recipients = [Recipient(m.user_id, m.display_name) for m in members]
            results = self._template(rules).evaluate_many(ctx, recipients)
            for member, actions in zip(members, results, strict=True):
                if actions is None or not (actions.notify or actions.highlight):
                    continue
                params += (
                    member.user_id,
                    room_id,
                    position,
                    event.event_id,
                    thread,
                    int(actions.notify),
                    int(actions.highlight),
                    actions.json,
                    event.origin_server_ts,
                )
        if params:
            rows = len(params) // _COLUMNS
            changes.append(
                Change(_INSERT + ", ".join([_ROW] * rows) + " ON CONFLICT DO NOTHING", params)
            )
        return changes

    def _invitee(self, tx: Transaction, event: Event, members: list[Member]) -> Member | None:
        if event.type != "m.room.member" or event.content.get("membership") != "invite":
            return None
        target = event.state_key
        if not target or target == event.sender or any(m.user_id == target for m in members):
            return None
        return push_state.load_user(tx, target)

    def _template(self, rules: str | None) -> CompiledRuleset:
        """The ruleset of every user whose document is ``rules`` (None: the
        defaults), compiled once with the recipient left as a placeholder."""
        found = self._rulesets.get(rules)
        if found is not None:
            self._rulesets.move_to_end(rules)
            return found
        document = orjson.loads(rules) if rules else None
        compiled = compile_ruleset(merged_ruleset(document, ME))
        self._rulesets[rules] = compiled
        while len(self._rulesets) > self._max_cached:
            self._rulesets.popitem(last=False)
        return compiled
