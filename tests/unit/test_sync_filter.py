"""Sync filters: parsing, validation and matching."""

from __future__ import annotations

import pytest

from tessera.query.sync.filter import (
    DEFAULT_TIMELINE_LIMIT,
    FilterError,
    SyncFilter,
    project_fields,
)


def test_defaults() -> None:
    flt = SyncFilter.parse({})
    assert flt.timeline_limit == DEFAULT_TIMELINE_LIMIT
    assert flt.timeline.matches_everything
    assert not flt.include_leave


def test_room_and_event_filters() -> None:
    flt = SyncFilter.parse(
        {
            "room": {
                "rooms": ["!a:hs", "!b:hs"],
                "not_rooms": ["!b:hs"],
                "include_leave": True,
                "timeline": {"limit": 3, "types": ["m.room.*"], "not_senders": ["@spam:hs"]},
                "state": {"lazy_load_members": True},
            },
            "account_data": {"not_types": ["m.secret"]},
        }
    )
    assert (
        flt.allows_room("!a:hs") and not flt.allows_room("!b:hs") and not flt.allows_room("!c:hs")
    )
    assert flt.timeline_limit == 3 and flt.include_leave
    assert flt.timeline.allows("m.room.message", "@a:hs")
    assert not flt.timeline.allows("m.reaction", "@a:hs")
    assert not flt.timeline.allows("m.room.message", "@spam:hs")
    assert flt.state.lazy_load_members
    assert not flt.account_data.allows_type("m.secret") and flt.account_data.allows_type("m.direct")


@pytest.mark.parametrize(
    "bad",
    [
        {"room": []},
        {"room": {"timeline": {"limit": "10"}}},
        {"room": {"timeline": {"types": "m.room.message"}}},
        {"room": {"include_leave": "yes"}},
        {"event_format": "xml"},
        {"room": {"state": {"lazy_load_members": 1}}},
    ],
)
def test_wrongly_typed_filters_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(FilterError):
        SyncFilter.parse(bad)


def test_event_fields_projection() -> None:
    event = {
        "type": "m.room.message",
        "content": {"body": "hi", "msgtype": "m.text"},
        "sender": "@a:hs",
    }
    assert project_fields(event, ("type", "content.body", "missing.x")) == {
        "type": "m.room.message",
        "content": {"body": "hi"},
    }
