"""Real PDUs another homeserver accepted pass our auth rules against their own auth events.

This is the check on receipt of a PDU "based on the event's auth events": the
listed events are resolved from the corpus, the list rules applied
(``auth_state_from_auth_events``) and then ``check_auth``. In v12 the create
event comes from the room ID, as the caller must supply it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tessera.kernel.auth import AuthError, auth_state_from_auth_events, check_auth
from tessera.kernel.events import Event
from tessera.kernel.room_versions import room_version
from tests.conftest import PDU_CORPUS


def _load() -> dict[str, Event]:
    events: dict[str, Event] = {}
    for path in sorted(Path(PDU_CORPUS).glob("*_real.json")):
        case = json.loads(path.read_text())
        rv = room_version(case["room_version"])
        event = Event(case["pdu"], rv, event_id=case["expected"]["event_id"])
        events[event.event_id] = event
    return events


EVENTS = _load() if PDU_CORPUS.is_dir() else {}


def _check(event: Event) -> None:
    listed = [EVENTS[i] for i in event.auth_event_ids]
    create = None
    if event.room_version.room_id_is_create_event_id and event.type != "m.room.create":
        create = EVENTS["$" + event.room_id[1:]]
    check_auth(event, auth_state_from_auth_events(event, listed, create=create))


@pytest.mark.parametrize("event_id", sorted(EVENTS))
def test_accepted_pdus_pass(event_id: str) -> None:
    _check(EVENTS[event_id])


def test_corpus_covers_every_version_we_claim() -> None:
    versions = {e.room_version.identifier for e in EVENTS.values()}
    assert {"1", "3", "8", "10", "11", "12"} <= versions


@pytest.mark.parametrize("version", ["1", "3", "8", "10", "11", "12"])
def test_the_same_pdus_from_an_outsider_fail(version: str) -> None:
    messages = [
        e
        for e in EVENTS.values()
        if e.room_version.identifier == version and e.type == "m.room.message"
    ]
    assert messages
    for message in messages:
        forged = copy.deepcopy(message.pdu)
        # Mallory shares the sender's server, so m.federate=false rooms admit her server.
        forged["sender"] = "@mallory:" + message.sender.partition(":")[2]
        event = Event(forged, message.room_version, event_id=message.event_id)
        # Its auth events name the real sender's membership, not the forger's.
        with pytest.raises(AuthError) as excinfo:
            _check(event)
        assert excinfo.value.rule == "auth_events.selection"
        # Checked against room state instead, the forger is simply not a member.
        state = {e.state_entry: e for e in (EVENTS[i] for i in message.auth_event_ids)}
        state[("m.room.create", "")] = _create_of(message)
        with pytest.raises(AuthError) as excinfo:
            check_auth(event, state)
        assert excinfo.value.rule == "sender_joined"


def _create_of(event: Event) -> Event:
    if event.room_version.room_id_is_create_event_id:
        return EVENTS["$" + event.room_id[1:]]
    return next(EVENTS[i] for i in event.auth_event_ids if EVENTS[i].type == "m.room.create")
