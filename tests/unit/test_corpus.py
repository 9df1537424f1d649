"""The PDU corpus: real events and tampered variants, with a correct server's verdicts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tessera.app.check_pdus import check_pdus
from tessera.kernel.corpus import check_case
from tests.conftest import PDU_CORPUS

CASES = sorted(PDU_CORPUS.glob("*.json"))


def test_the_corpus_is_there_and_covers_the_versions() -> None:
    assert len(CASES) >= 400
    versions = {json.loads(p.read_text())["room_version"] for p in CASES}
    assert {"1", "3", "4", "6", "7", "8", "9", "10", "11", "12"} <= versions


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_case_agrees(path: Path) -> None:
    assert check_case(json.loads(path.read_text())) == []


def _tamper(case: dict[str, Any]) -> dict[str, Any]:
    case = json.loads(json.dumps(case))
    case["expected"]["event_id"] = "$not-the-id"
    case["expected"]["content_hash_ok"] = not case["expected"]["content_hash_ok"]
    case["expected"]["signature_ok"] = not case["expected"]["signature_ok"]
    case["expected"]["redacted"]["content"] = {"extra": 1}
    return case


def test_wrong_expectations_are_reported_field_by_field() -> None:
    diffs = check_case(_tamper(json.loads(CASES[-1].read_text())))
    fields = [d.split(":")[0] for d in diffs]
    assert fields == ["event_id", "content_hash_ok", "signature_ok", "redacted"]


def test_malformed_cases_are_mismatches_not_crashes() -> None:
    assert check_case([]) == ["case is not a JSON object"]
    assert check_case({"room_version": "99", "pdu": {}, "expected": {}}) == [
        "unknown room version '99'"
    ]
    assert check_case({"pdu": {}}) == ["case lacks room_version, expected"]


def test_check_pdus_command_on_unseen_cases(tmp_path: Path) -> None:
    # Cases it has never seen, in the same format: a copy with a renamed file,
    # one with a wrong expectation, and one that is not JSON.
    shutil.copy(CASES[0], tmp_path / "a_good.json")
    (tmp_path / "b_bad.json").write_text(json.dumps(_tamper(json.loads(CASES[1].read_text()))))
    (tmp_path / "c_broken.json").write_text("{not json")
    (tmp_path / "ignored.txt").write_text("not a case")
    proc = subprocess.run(
        [sys.executable, "-m", "tessera.app.cli", "check-pdus", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = proc.stdout.splitlines()
    assert proc.returncode == 1
    assert lines[0] == "a_good.json ok"
    assert lines[1].startswith("b_bad.json MISMATCH event_id: got $")
    assert lines[2].startswith("c_broken.json MISMATCH unreadable")
    assert lines[-1] == "1/3 cases agree"


def test_check_pdus_whole_corpus_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_pdus(PDU_CORPUS) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"{len(CASES)}/{len(CASES)} cases agree"
    assert all(line.endswith(" ok") for line in out[:-1])


def test_check_pdus_empty_or_missing_directory_fails(tmp_path: Path) -> None:
    assert check_pdus(tmp_path) == 1
    assert check_pdus(tmp_path / "nope") == 2
