"""Shared test configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
PDU_CORPUS = SHARED / "fixtures" / "pdu-corpus"


@pytest.fixture(scope="session")
def pdu_corpus_dir() -> Path:
    if not PDU_CORPUS.is_dir():
        pytest.fail(f"the PDU corpus is missing at {PDU_CORPUS}")
    return PDU_CORPUS
