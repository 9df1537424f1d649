"""The operator's guide names every configuration key, flag and role the code has."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from tessera.app.cli_server import SERVE_FLAGS
from tessera.app.config import Config
from tessera.app.server import ROLES

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "operators.md"


def _config_table_keys(text: str) -> set[str]:
    """The keys in the first column of the configuration table: "| `key` (`--flag`) |"."""
    start = text.index("| key (flag) |")
    table = text[start : text.index("\n\n", start)]
    return set(re.findall(r"^\| `([a-z0-9_]+)`", table, re.M))


def test_every_configuration_key_is_documented_and_no_other() -> None:
    text = GUIDE.read_text()
    keys = {f.name for f in dataclasses.fields(Config)}
    assert _config_table_keys(text) == keys


def test_every_serve_flag_is_documented_with_its_key() -> None:
    text = GUIDE.read_text()
    for flag, key, _, _ in SERVE_FLAGS:
        assert f"| `{key}` (`{flag}`)" in text, flag


def test_every_role_is_documented() -> None:
    text = GUIDE.read_text()
    for role in ROLES:
        assert f"| `{role}` |" in text, role


def test_every_read_model_is_named_for_replay() -> None:
    from tessera.projections.registry import all_projections

    text = GUIDE.read_text()
    section = text[text.index("## Rebuilding read models") :]
    for projection in all_projections():
        assert f"`{projection.name}`" in section, projection.name
