"""Settings and catalogs that route lines to test voices, for the fan-out tests on the suite's cluster
(``dask_client`` in tests/conftest.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.scripts.ingest import ingest_text
from pipeline.scripts.model import Line
from pipeline.settings import Settings
from pipeline.storage.store import ObjectStore
from pipeline.voices.catalog import Catalog, load_catalog
from tests.conftest import REPO

VOICES = """
voices:
  en-joe: {engine: piper, engine_voice: en_US-joe-medium, languages: [en]}
  zh-baker: {engine: mandarin, languages: [zh]}
  en-espeak: {engine: espeak, languages: [en]}
  faulty: {engine: faulty, languages: [en], fallback: false}
  gpu-voice: {engine: gpuonly, languages: [en], fallback: false}
projects:
  t:
    defaults: {en: en-joe, zh: zh-baker}
"""


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    path = tmp_path / "voices.yaml"
    path.write_text(VOICES)
    return load_catalog(path)


@pytest.fixture
def settings(store: ObjectStore, catalog: Catalog) -> Settings:
    """Embedded engines plus the faulty one; the store's bucket prefix; small batches so work spreads out."""
    base = Settings(voices_file=catalog.path, dask={"workers": 2}, synthesis={"batch_size": 2})
    engines = base.engines.model_copy(update={
        "enabled": [*base.engines.enabled, "faulty", "gpuonly"],
        "custom": {"faulty": "tests.compute.faulty_engine:FaultyEngine",
                   "gpuonly": "tests.compute.faulty_engine:GpuOnlyEngine"},
        "mandarin": base.engines.mandarin.model_copy(update={"cache_dir": REPO / "var/cache/mandarin"}),
    })  # fmt: skip
    return base.model_copy(update={"engines": engines, "storage": store.settings})


@pytest.fixture
def sheet() -> Callable[..., list[Line]]:
    """Lines from CSV rows ``(line_id, text, voice)``; voice '' = the project default for the language."""

    def make(rows: list[tuple[str, str, str]], script_id: str = "s1") -> list[Line]:
        buffer = io.StringIO()
        csv.writer(buffer).writerows([("line_id", "text", "voice"), *rows])
        result = ingest_text(buffer.getvalue(), f"{script_id}.csv", Settings().ingest)
        assert result.ok, result.problems
        return result.lines

    return make
