from __future__ import annotations

import decimal
import json
from typing import Any

import canonicaljson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tessera.kernel.canonical_json import (
    MAX_SAFE_INTEGER,
    CanonicalJsonError,
    encode_canonical_json,
)
from tests.spec_vectors import pairs


def _parse_spec_json(text: str) -> Any:
    # The appendix writes one integer as 1e10; JSON parsers read that as a float,
    # but its value is an integer, which is what canonical JSON encodes.
    def parse_float(s: str) -> Any:
        d = decimal.Decimal(s)
        return int(d) if d == d.to_integral_value() else float(s)

    return json.loads(text, parse_float=parse_float)


@pytest.mark.parametrize(("given", "expected"), pairs("Examples"))
def test_spec_examples_are_byte_identical(given: str, expected: str) -> None:
    assert encode_canonical_json(_parse_spec_json(given)) == expected.strip().encode("utf-8")


@pytest.mark.parametrize(
    "value",
    [1.5, {"a": 0.0}, [1, 2, 3.25], {"n": MAX_SAFE_INTEGER + 1}, {"n": -MAX_SAFE_INTEGER - 1}],
)
def test_floats_and_unsafe_integers_are_refused(value: Any) -> None:
    with pytest.raises(CanonicalJsonError):
        encode_canonical_json(value)


def test_integer_bounds_are_inclusive() -> None:
    encoded = encode_canonical_json({"a": MAX_SAFE_INTEGER, "b": -MAX_SAFE_INTEGER})
    assert encoded == b'{"a":9007199254740991,"b":-9007199254740991}'


def test_non_string_keys_and_lone_surrogates_are_refused() -> None:
    with pytest.raises(CanonicalJsonError):
        encode_canonical_json({1: "x"})
    with pytest.raises(CanonicalJsonError):
        encode_canonical_json({"a": "\ud800"})


def test_deep_nesting_is_refused() -> None:
    value: Any = "x"
    for _ in range(200):
        value = [value]
    with pytest.raises(CanonicalJsonError):
        encode_canonical_json(value)


def test_control_characters_use_the_spec_escapes() -> None:
    assert encode_canonical_json('\x00\x08\t\n\x0c\r\x1f\x7f"\\/') == (
        b'"\\u0000\\b\\t\\n\\f\\r\\u001f\x7f\\"\\\\/"'
    )


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.text(st.characters(blacklist_categories=("Cs",))),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.text(st.characters(blacklist_categories=("Cs",))), children, max_size=5
        )
    ),
    max_leaves=30,
)


@given(_json)
def test_agrees_with_the_reference_library(value: Any) -> None:
    # canonicaljson is the encoder Synapse uses; the two must agree byte for byte.
    assert encode_canonical_json(value) == canonicaljson.encode_canonical_json(value)
