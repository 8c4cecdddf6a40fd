"""A real two-worker LocalCluster for the fan-out tests, and settings/catalogs that route lines to test voices."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
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


@pytest.fixture(scope="session")
def dask_client() -> Iterator[object]:
    from distributed import Client, LocalCluster

    from pipeline.compute.cluster import PARENT_WATCH

    # The parent watch: a suite killed mid-run (a CI timeout) must not leave its workers behind.
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address="127.0.0.1:0", memory_limit="4GiB", silence_logs=40,
                           preload=[PARENT_WATCH])  # fmt: skip
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


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
