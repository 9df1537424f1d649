"""The README's "Commands" section lists every ``tessera`` subcommand, once each."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from tessera.app.cli import _parser

README = Path(__file__).resolve().parents[2] / "README.md"


def _subcommands() -> set[str]:
    parser = _parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    raise AssertionError("no subcommands")


def test_commands_section_lists_every_subcommand() -> None:
    text = README.read_text()
    section = text.split("## Commands", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^tessera ([a-z-]+)", section, flags=re.MULTILINE)
    assert sorted(listed) == sorted(_subcommands())
    assert len(listed) == len(set(listed))


def test_readme_still_starts_with_the_two_commands() -> None:
    lines = README.read_text().splitlines()
    assert lines[3].startswith("make run ") and lines[4].startswith("make test ")
