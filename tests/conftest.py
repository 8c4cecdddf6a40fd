"""Shared fixtures: default settings, and a writer for script files in a temp directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.settings import IngestSettings, Settings

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
SAMPLES = REPO / "samples"


@pytest.fixture
def ingest_settings() -> IngestSettings:
    return Settings().ingest


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    return _write
