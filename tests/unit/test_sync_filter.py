"""Sync filters: parsing, validation and matching."""

from __future__ import annotations

import pytest

from tessera.query.filters import (
    DEFAULT_TIMELINE_LIMIT,
    MAX_LIMIT,
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


def test_section_limits_take_zero_and_are_capped() -> None:
    assert SyncFilter.parse({"room": {"timeline": {"limit": 0}}}).timeline_limit == 0
    capped = SyncFilter.parse({"room": {"timeline": {"limit": 5000}}, "account_data": {"limit": 2}})
    assert capped.timeline_limit == MAX_LIMIT and capped.account_data.limit == 2
    with pytest.raises(FilterError, match=r"'room\.timeline\.limit'"):
        SyncFilter.parse({"room": {"timeline": {"limit": -1}}})


def test_sections_and_their_flags() -> None:
    flt = SyncFilter.parse(
        {
            "room": {
                "timeline": {"unread_thread_notifications": True, "contains_url": True},
                "state": {"lazy_load_members": True, "include_redundant_members": True},
                "ephemeral": {"not_types": ["m.typing"]},
                "account_data": {"types": ["m.tag"]},
            },
            "presence": {"types": []},
            "event_fields": ["content.body"],
            "event_format": "federation",
        }
    )
    assert flt.timeline.unread_thread_notifications and flt.timeline.contains_url
    assert flt.state.lazy_load_members and flt.state.include_redundant_members
    assert not flt.ephemeral.allows_type("m.typing") and flt.ephemeral.allows_type("m.receipt")
    assert flt.room_account_data.allows_type("m.tag")
    assert not flt.room_account_data.allows_type("m.fully_read")
    assert not flt.presence.allows_type("m.presence")
    assert flt.event_fields == ("content.body",) and flt.event_format == "federation"


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"room": {"timeline": []}}, "room.timeline"),
        ({"room": {"rooms": "!a:hs"}}, "room.rooms"),
        ({"event_fields": [1]}, "event_fields"),
        ({"account_data": {"senders": "@a:hs"}}, "account_data.senders"),
    ],
)
def test_errors_name_the_field(bad: dict[str, object], field: str) -> None:
    with pytest.raises(FilterError, match=f"'{field}'"):
        SyncFilter.parse(bad)
