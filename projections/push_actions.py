"""Push rule evaluation as a read model (projection ``push_actions``).

For each room event, every local member of the room except the sender (plus a
local invitee, for ``.m.rule.invite_for_me``) is evaluated
(``tessera.kernel.push``), all at once: ``evaluate_room`` gives the outcome
the members share and the members whose outcome differs. The shared outcome is
one row per event (``push_room_actions``) that applies to every local member
whose membership window (``push_windows``) holds the event; the others get a
row each (``push_user_actions``): see ``push_rows``. So a message in a room of
N members writes one row, not N. Unread counts are not stored: the query side
counts these rows after the user's read position and up to the sync token
(``tessera.query.push``), so a count always agrees with the events a response
carries.

Evaluation needs the room's members, display names and power levels and each
user's rules *as of the event*: this projection folds them into its own tables
(``push_state``) and reads them back in the same transaction (``apply_with``,
see ``projections/runner.py``), through a cache that is trusted only at the
position it was built at (``push_cache``). Everything read is derived from the
log before the record, so a replay writes the same rows.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Any

import orjson

from tessera.kernel.auth.power_levels import level_of_user, parse_level
from tessera.kernel.events import Event
from tessera.kernel.push import Actions, PushContext, evaluate_room
from tessera.kernel.push.room import effective
from tessera.kernel.room_versions import UnknownRoomVersion, room_version
from tessera.schema.accounts import Registered
from tessera.schema.log import LogRecord
from tessera.schema.readmodel import Change, Transaction
from tessera.schema.records import PDU, PduRecord
from tessera.schema.userdata import PUSH_RULES_SET, PushRulesSet, encode, stream_user

from . import push_rows, push_state
from .push_cache import PushCache, RoomState, Templates
from .push_rows import MAIN, Evaluated, HeldRows


@dataclasses.dataclass(frozen=True, slots=True)
class _Seen:
    """A room event being applied."""

    position: int
    event: Event
    pdu: dict[str, Any]
    body: PduRecord
    room_id: str
    room: RoomState


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


def _power(room: RoomState, sender: str, version: str) -> tuple[float, dict[str, int]]:
    """The sender's power level and the room's notification levels (memoized
    in the room's cache entry, which a power levels event evicts)."""
    memo = room.memo
    levels: dict[str, int] | None = memo.get("levels")
    create = _state_event(room.create_event, version)
    pl = _state_event(room.power_levels, version)
    if levels is None:
        levels = memo["levels"] = _notification_levels(pl)
    power: float | None = memo.get(sender)
    if power is None:
        power = memo[sender] = float(level_of_user(sender, pl, create))
    return power, levels


class PushActionsProjection:
    name = "push_actions"
    tables: tuple[str, ...] = (*push_state.TABLES, *push_rows.TABLES)
    migrations: tuple[str, ...] = (*push_state.MIGRATIONS, *push_rows.MIGRATIONS)

    def __init__(self, *, evaluate: bool = True, max_cached: int = 50_000) -> None:
        #: False: fold the state but evaluate nothing (the benchmark's baseline;
        #: events seen meanwhile never notify).
        self.evaluate = evaluate
        self._templates = Templates(max_cached)
        self._cache = PushCache(self.name)
        self._held = HeldRows()

    def apply(self, record: LogRecord) -> list[Change]:
        raise TypeError("push_actions reads its own tables: the runner calls apply_with")

    def start_batch(self, tracked: int) -> None:
        self._cache.start_batch(tracked)
        self._held.clear()  # left by a batch that failed before its end

    def apply_with(self, tx: Transaction, record: LogRecord) -> list[Change]:
        try:
            changes = self._record(tx, record)
        except BaseException:
            self._cache.invalidate()
            self._held.clear()
            raise
        self._cache.applied(record.position)
        return changes

    def finish_batch(self, tx: Transaction) -> list[Change]:
        """The batch's result rows (``push_rows.HeldRows``), after its last record."""
        return self._held.changes()

    def _record(self, tx: Transaction, record: LogRecord) -> list[Change]:
        if record.kind == PDU:
            return self._pdu(tx, record)
        if record.kind == Registered.KIND:
            self._cache.forget_user(record.stream)
            return [push_state.user_registered(record.stream, record.position)]
        if record.kind == PUSH_RULES_SET:
            user_id = stream_user(record.stream)
            if user_id is None:
                return []
            self._cache.forget_user(user_id)
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
        seen = _Seen(record.position, event, pdu, body, room_id, self._cache.room(tx, room_id))
        changes: list[Change] = []
        if self.evaluate:
            changes += self._evaluate(tx, seen)
            redacts = event.redacts if event.type == "m.room.redaction" else None
            if redacts and not self._held.redact(room_id, redacts):
                changes += push_rows.redacted(tx, room_id, redacts)
        if body.is_state_change:
            changes += self._fold_state(tx, seen)
        return changes

    def _fold_state(self, tx: Transaction, seen: _Seen) -> list[Change]:
        event, room_id = seen.event, seen.room_id
        if event.type == "m.room.member" and event.state_key is not None:
            self._cache.forget_room(room_id)
            user_id = event.state_key
            content = event.content
            membership = content.get("membership")
            changes = [
                push_state.membership(room_id, user_id, membership, content.get("displayname"))
            ]
            was = seen.room.members.get(user_id)
            if membership == "join" and was is None:
                if push_state.load_user(tx, user_id) is not None:
                    changes.append(push_state.window_opened(room_id, user_id, seen.position))
            elif membership != "join" and was is not None and was.local:
                changes.append(push_state.window_closed(room_id, user_id, seen.position))
            return changes
        if event.state_key == "" and event.type in ("m.room.create", "m.room.power_levels"):
            self._cache.forget_room(room_id)
            column = "create_event" if event.type == "m.room.create" else "power_levels"
            return [
                push_state.room_state(room_id, seen.body.room_version, column, seen.body.pdu_json)
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

    def _evaluate(self, tx: Transaction, seen: _Seen) -> list[Change]:
        changes: list[Change] = []
        event, room = seen.event, seen.room
        thread = self._thread(tx, event, seen.room_id, changes)
        sender = event.sender
        member = room.members.get(sender)
        sender_local = (member is not None and member.local) or (
            event.type == "m.room.member" and push_state.load_user(tx, sender) is not None
        )
        if sender_local:  # a joining user has read the invite
            self._held.own_read(seen.room_id, sender, thread, seen.position)
        invitee = self._invitee(tx, event, room)
        others = room.local_members - (1 if member is not None and member.local else 0)
        if not others and invitee is None:
            return changes  # nobody to evaluate (the sender never is)
        power, levels = _power(room, sender, event.room_version.identifier)
        ctx = PushContext(seen.pdu, len(room.members), power, levels)
        templates = self._templates
        outcome = evaluate_room(
            ctx,
            templates.get(None),
            ((templates.get(key), recipients) for key, recipients in room.groups),
            exclude=sender,
        )
        own: list[tuple[str, Actions | None]] = list(outcome.exceptions.items())
        if invitee is not None:
            key = Templates.key(invitee.rules, invitee.user_id)
            found = effective(templates.get(key).evaluate(ctx, None, invitee.user_id))
            if found is not None:
                own.append((invitee.user_id, found))
        if outcome.default is None and not own:
            return changes
        at = Evaluated(
            seen.room_id, seen.position, event.event_id, thread, sender, event.origin_server_ts
        )
        # Also without a shared outcome, when members have their own: a
        # redaction finds the event's position through this row.
        self._held.outcome(at, outcome.default, own)
        return changes

    def _invitee(self, tx: Transaction, event: Event, room: RoomState) -> push_state.Member | None:
        if event.type != "m.room.member" or event.content.get("membership") != "invite":
            return None
        target = event.state_key
        if not target or target == event.sender or target in room.members:
            return None
        return push_state.load_user(tx, target)
