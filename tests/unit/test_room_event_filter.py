"""RoomEventFilter: parsing, exact matching, and the SQL pre-filter's shape."""

from __future__ import annotations

import pytest

from tessera.query.filters import FilterError, RoomEventFilter, type_matches


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"types": "m.room.message"},
        {"senders": [1]},
        {"limit": 0},
        {"limit": "10"},
        {"limit": True},
        {"lazy_load_members": "yes"},
        {"contains_url": 1},
    ],
)
def test_invalid_filters_are_refused(bad: object) -> None:
    with pytest.raises(FilterError):
        RoomEventFilter.parse(bad)


def test_bad_json_is_told_apart_from_a_bad_filter() -> None:
    with pytest.raises(FilterError) as not_json:
        RoomEventFilter.from_json("{nope")
    assert not_json.value.not_json
    with pytest.raises(FilterError) as bad:
        RoomEventFilter.from_json('{"types": 3}')
    assert not bad.value.not_json
    assert RoomEventFilter.from_json(None) == RoomEventFilter()


def test_parsing_keeps_every_field() -> None:
    f = RoomEventFilter.parse(
        {"limit": 5, "types": ["m.*"], "not_types": ["m.room.member"], "senders": ["@a:hs"],
         "not_senders": ["@b:hs"], "rooms": ["!r:hs"], "not_rooms": ["!s:hs"],
         "contains_url": True, "lazy_load_members": True, "include_redundant_members": True,
         "unread_thread_notifications": True, "unknown_key": 1}
    )  # fmt: skip
    assert f.limit == 5 and f.types == ("m.*",) and f.not_types == ("m.room.member",)
    assert f.senders == ("@a:hs",) and f.not_senders == ("@b:hs",)
    assert f.rooms == ("!r:hs",) and f.not_rooms == ("!s:hs",)
    assert f.contains_url and f.lazy_load_members and f.include_redundant_members


@pytest.mark.parametrize(
    ("event_type", "globs", "expected"),
    [
        ("m.room.message", ["m.room.message"], True),
        ("m.room.message", ["m.*"], True),
        ("m.room.message", ["*"], True),
        ("m.room.message", ["m.room.*.x"], False),
        ("M.room.message", ["m.*"], False),
        ("m_room", ["m.room"], False),  # a dot is no wildcard
        ("m.room.message", [], False),
    ],
)
def test_type_wildcards(event_type: str, globs: list[str], expected: bool) -> None:
    assert type_matches(event_type, globs) is expected


def test_exclusions_win_over_inclusions() -> None:
    f = RoomEventFilter.parse({"types": ["m.*"], "not_types": ["m.room.member"],
                               "senders": ["@a:hs"], "not_senders": ["@a:hs"]})  # fmt: skip
    assert not f.matches("m.room.message", "@a:hs", "!r:hs")
    g = RoomEventFilter.parse({"types": ["m.*"], "not_types": ["m.room.member"]})
    assert g.matches("m.room.message", "@a:hs", "!r:hs")
    assert not g.matches("m.room.member", "@a:hs", "!r:hs")
    assert not RoomEventFilter.parse({"rooms": ["!r:hs"], "not_rooms": ["!r:hs"]}).allows_room(
        "!r:hs"
    )


def test_contains_url() -> None:
    with_url = RoomEventFilter.parse({"contains_url": True})
    without = RoomEventFilter.parse({"contains_url": False})
    assert with_url.matches("m.room.message", "@a:hs", "!r:hs", {"url": "mxc://hs/x"})
    assert not with_url.matches("m.room.message", "@a:hs", "!r:hs", {"body": "x"})
    assert without.matches("m.room.message", "@a:hs", "!r:hs", {"body": "x"})
    assert not without.matches("m.room.message", "@a:hs", "!r:hs", {"url": "mxc://hs/x"})


def test_sql_placeholders_match_parameters() -> None:
    f = RoomEventFilter.parse({"types": ["m.room.message", "org.%_*"], "not_types": ["x.*"],
                               "senders": ["@a:hs"], "not_rooms": ["!s:hs"]})  # fmt: skip
    sql, params = f.sql("e")
    assert sql.count("?") == len(params)
    assert "org.\\%\\_%" in params  # LIKE metacharacters escaped, * turned into %
    assert "x.%" not in params  # wildcard exclusions are left to matches()
    assert RoomEventFilter().sql() == ("1 = 1", [])
    assert RoomEventFilter.parse({"types": []}).sql()[0] == "1 = 0"


def test_errors_name_the_field_under_its_path() -> None:
    with pytest.raises(FilterError, match=r"'room\.timeline\.types'"):
        RoomEventFilter.parse({"types": "m.room.message"}, path="room.timeline.")
    with pytest.raises(FilterError, match=r"'room\.state\.lazy_load_members'"):
        RoomEventFilter.parse({"lazy_load_members": 1}, path="room.state.")


def test_min_limit() -> None:
    assert RoomEventFilter.parse({"limit": 0}, min_limit=0).limit == 0
    with pytest.raises(FilterError, match="'limit'"):
        RoomEventFilter.parse({"limit": -1}, min_limit=0)
    with pytest.raises(FilterError):
        RoomEventFilter.parse({"limit": True}, min_limit=0)


def test_allows_leaves_rooms_to_the_caller() -> None:
    f = RoomEventFilter.parse({"rooms": ["!r:hs"], "types": ["m.room.*"], "senders": ["@a:hs"]})
    assert f.allows("m.room.message", "@a:hs")  # any room: sync applies room.rooms itself
    assert not f.matches("m.room.message", "@a:hs", "!other:hs")
    assert not f.allows("m.reaction", "@a:hs")
    assert not f.allows("m.room.message", "@b:hs")
    assert f.allows_type("m.room.name") and not f.allows_type("m.reaction")


def test_allows_reads_contains_url_only_with_content() -> None:
    with_url = RoomEventFilter.parse({"contains_url": True})
    assert with_url.allows("m.room.message", "@a:hs")  # no content: not considered
    assert with_url.allows("m.room.message", "@a:hs", {"url": "mxc://hs/x"})
    assert not with_url.allows("m.room.message", "@a:hs", {"body": "x"})
    assert not with_url.allows("m.room.message", "@a:hs", {"url": None})  # not a string
    assert not with_url.matches("m.room.message", "@a:hs", "!r:hs")  # matches: no content, no url


def test_only_star_is_a_wildcard() -> None:
    assert not type_matches("m.room.message", ["m.room.messag?"])
    assert type_matches("m.room.messag?", ["m.room.messag?"])
    assert not type_matches("m.room.x", ["m.room.[xy]"])
    assert type_matches("m.room.[xy]", ["m.room.[*"])


@pytest.mark.parametrize(
    ("spec", "everything"),
    [
        ({}, True),
        ({"rooms": ["!r:hs"], "not_rooms": ["!s:hs"], "limit": 3}, True),
        ({"types": ["*"]}, False),
        ({"not_types": ["x"]}, False),
        ({"senders": []}, False),
        ({"not_senders": ["@a:hs"]}, False),
        ({"contains_url": False}, False),
    ],
)
def test_matches_everything(spec: dict[str, object], everything: bool) -> None:
    assert RoomEventFilter.parse(spec).matches_everything is everything
