"""The auth rules' numbering tree has the shape and wording of the spec's own lists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tessera.kernel.auth.numbering import RULES, Node, numbers_for
from tessera.kernel.room_versions import KNOWN_ROOM_VERSIONS, room_version
from tests.conftest import SHARED

ROOMS = SHARED / "matrix-spec" / "content" / "rooms"
_ITEM = re.compile(r"^( *)\d+\.\s+(.*)$")
_SHORTCODE = re.compile(r"\{\{%.*?%\}\}")

SpecItem = tuple[str, list["SpecItem"]]


def _auth_rules_markdown(version: str) -> str:
    text = (ROOMS / f"v{version}.md").read_text()
    section = text.split("### Authorisation rules", 1)[1].split("\n## ", 1)[0]
    section = section.split("\n### ", 1)[0]
    fragment = re.search(r'rver-fragment name="([^"]+)"', section)
    if fragment:
        section = (ROOMS / "fragments" / f"{fragment.group(1)}.md").read_text()
    return section.split("The rules are as follows", 1)[-1].split("as follows:", 1)[-1]


def _parse(markdown: str) -> list[SpecItem]:
    """Numbered items as a tree (by indentation), each with its text (first lines)."""
    root: list[SpecItem] = []
    stack: list[tuple[int, list[SpecItem]]] = [(-1, root)]
    open_item: tuple[list[SpecItem], int] | None = None
    for line in markdown.splitlines():
        m = _ITEM.match(line)
        if m:
            indent = len(m.group(1))
            while stack[-1][0] >= indent:
                stack.pop()
            parent = stack[-1][1]
            children: list[SpecItem] = []
            parent.append((m.group(2), children))
            stack.append((indent, children))
            open_item = (parent, len(parent) - 1)
        elif not line.strip():
            open_item = None
        elif open_item is not None and not line.lstrip().startswith("-"):
            # An item's wording may start on the line after its {{% added-in %}} marker.
            parent, index = open_item
            text, children = parent[index]
            parent[index] = (text + " " + line.strip(), children)
    return root


def _compare(version: str, spec: list[SpecItem], ours: tuple[Node, ...], prefix: str) -> None:
    rv = room_version(version)
    present = [node for node in ours if node[2](rv)]
    assert len(spec) == len(present), (
        f"v{version} {prefix or 'top'}: spec has {len(spec)} items, tree {len(present)}: "
        f"{[t[:40] for t, _ in spec]} vs {[k for k, *_ in present]}"
    )
    for i, ((text, children), (key, snippet, _when, sub)) in enumerate(
        zip(spec, present, strict=True), start=1
    ):
        clean = _SHORTCODE.sub("", text).lower()
        assert snippet.lower() in clean, f"v{version} {prefix}{i} ({key}): {clean[:90]!r}"
        assert numbers_for(rv)[key] == f"{prefix}{i}"
        _compare(version, children, sub, f"{prefix}{i}.")


@pytest.mark.parametrize("version", sorted(KNOWN_ROOM_VERSIONS, key=int))
def test_tree_matches_the_spec_lists(version: str) -> None:
    _compare(version, _parse(_auth_rules_markdown(version)), RULES, "")


def test_examples_of_numbers() -> None:
    assert numbers_for(room_version("1"))["member.join.sender"] == "5.2.2"
    assert numbers_for(room_version("6"))["member.join.sender"] == "4.2.2"
    assert numbers_for(room_version("8"))["member.join.sender"] == "4.3.2"
    assert numbers_for(room_version("12"))["member.join.sender"] == "5.3.2"
    assert numbers_for(room_version("10"))["power_levels.users"] == "9.3"
    assert numbers_for(room_version("12"))["power_levels.creators"] == "10.4"
    assert numbers_for(room_version("1"))["redaction"] == "11"
    assert "redaction" not in numbers_for(room_version("3"))


def test_spec_is_where_we_think() -> None:
    assert isinstance(ROOMS, Path) and (ROOMS / "v12.md").is_file()
