"""``tessera check-pdus DIR``: check a folder of PDU cases against the kernel."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import orjson

from tessera.kernel.corpus import check_case


def check_pdus(directory: Path, out: TextIO | None = None) -> int:
    """Print one line per ``*.json`` case and a total; 0 only when all agree."""
    out = out or sys.stdout
    if not directory.is_dir():
        print(f"{directory}: not a directory", file=sys.stderr)
        return 2
    files = sorted(directory.glob("*.json"))
    agree = 0
    for path in files:
        try:
            case = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as e:
            diffs = [f"unreadable: {e}"]
        else:
            diffs = check_case(case)
        if diffs:
            print(f"{path.name} MISMATCH {'; '.join(diffs)}", file=out)
        else:
            agree += 1
            print(f"{path.name} ok", file=out)
    print(f"{agree}/{len(files)} cases agree", file=out)
    return 0 if files and agree == len(files) else 1
