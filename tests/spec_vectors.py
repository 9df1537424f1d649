"""Test vectors read from the specification beside the project (not copied into it).

The spec's appendices give canonical-JSON and signing examples as pairs of
```json blocks under a heading; these helpers pull them out at test time.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import SHARED

APPENDICES = SHARED / "matrix-spec" / "content" / "appendices.md"
_BLOCK = re.compile(r"```json\n(.*?)```", re.S)


def section(heading: str, path: Path = APPENDICES) -> str:
    """The text under the markdown heading ``heading`` up to the next heading."""
    text = path.read_text(encoding="utf-8")
    m = re.search(rf"^(#+) {re.escape(heading)}\s*$", text, re.M)
    if m is None:
        raise LookupError(f"heading {heading!r} not found in {path}")
    level = len(m.group(1))
    rest = text[m.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.M)
    return rest[: end.start()] if end else rest


def json_blocks(heading: str) -> list[str]:
    return _BLOCK.findall(section(heading))


def pairs(heading: str) -> list[tuple[str, str]]:
    blocks = json_blocks(heading)
    assert blocks and len(blocks) % 2 == 0, f"expected input/output pairs under {heading!r}"
    return list(zip(blocks[::2], blocks[1::2], strict=True))
