from __future__ import annotations

import pytest

from tessera.kernel.room_versions import (
    DEFAULT_ROOM_VERSION,
    KNOWN_ROOM_VERSIONS,
    EventIdFormat,
    StateResAlgorithm,
    UnknownRoomVersion,
    room_version,
)


def test_versions_one_to_twelve_are_known() -> None:
    assert sorted(KNOWN_ROOM_VERSIONS, key=int) == [str(i) for i in range(1, 13)]
    assert DEFAULT_ROOM_VERSION.identifier == "12"


@pytest.mark.parametrize(
    ("version", "fmt"),
    [
        ("1", EventIdFormat.SERVER_GENERATED),
        ("2", EventIdFormat.SERVER_GENERATED),
        ("3", EventIdFormat.REFERENCE_HASH_BASE64),
        ("4", EventIdFormat.REFERENCE_HASH_URLSAFE),
        ("12", EventIdFormat.REFERENCE_HASH_URLSAFE),
    ],
)
def test_event_id_format(version: str, fmt: EventIdFormat) -> None:
    assert room_version(version).event_id_format is fmt


def test_feature_table_of_the_spec() -> None:
    # The spec's feature matrix (rooms/_index.md): knocking from 7, restricted
    # joins from 8, knock_restricted from 10, additional creators from 12.
    def first(flag: str) -> int:
        return min(int(v) for v, rv in KNOWN_ROOM_VERSIONS.items() if getattr(rv, flag))

    assert first("knock_join_rule") == 7
    assert first("restricted_join_rule") == 8
    assert first("knock_restricted_join_rule") == 10
    assert first("privileged_creators") == 12
    assert first("enforce_key_validity") == 5
    assert first("strict_canonical_json") == 6
    assert first("enforce_int_power_levels") == 10
    assert first("updated_redaction_rules") == 11
    assert not room_version("6").special_case_aliases_auth
    assert room_version("5").special_case_aliases_auth
    assert room_version("2").redaction_rule_in_auth
    assert not room_version("3").redaction_rule_in_auth


def test_state_resolution_algorithm() -> None:
    assert room_version("1").state_res is StateResAlgorithm.V1
    assert {room_version(str(v)).state_res for v in range(2, 12)} == {StateResAlgorithm.V2}
    assert room_version("12").state_res is StateResAlgorithm.V2_1


def test_unknown_version_is_an_error() -> None:
    with pytest.raises(UnknownRoomVersion):
        room_version("13")
    with pytest.raises(UnknownRoomVersion):
        room_version(12)  # type: ignore[arg-type]
