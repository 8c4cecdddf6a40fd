"""The trigger form's voice and engine overrides through ``orchestrate.voice_script``: real S3, cluster, engines."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from pipeline.orchestrate import discover_scripts, voice_script
from pipeline.settings import Settings
from pipeline.storage.inbox import put_script
from pipeline.storage.store import ObjectStore
from tests.compute.test_orchestrate_retake import on_cluster  # noqa: F401  (fixture)

# ANA's line is recast to espeak-ng: words Whisper hears in its voice ("harbour" it hears as "Hariber", a QA fail
# that the gate would mend with the fallback engine, and the line would not be espeak's).
ROWS = [("ov-0001", "ANA", "The tide is turning."), ("ov-0002", "BEN", "Good evening, harbour.")]


def _item(store: ObjectStore, settings: Settings, tmp_path: Path, name: str) -> dict[str, str]:
    path = tmp_path / name
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([("line_id", "speaker", "text"), *ROWS])
    put_script(store, path, "t", date(2026, 11, 21))
    [item] = discover_scripts(settings, "t", None, None, f"t/2026-11-21/{name}")
    return item


def _lines(store: ObjectStore, summary: dict) -> tuple[dict[str, dict], dict]:
    manifest = json.loads(store.get_bytes("assets", summary["manifest"].split("/", 3)[3]))
    return {line["line_id"]: line for line in manifest["lines"]}, manifest["source"]


def test_a_voice_override_recasts_one_speaker_and_is_recorded(on_cluster: Settings, store: ObjectStore,  # noqa: F811
                                                                tmp_path: Path) -> None:  # fmt: skip
    summary = voice_script(on_cluster, _item(store, on_cluster, tmp_path, "recast.csv"), "run-1",
                           voices={"ANA": "en-espeak"})  # fmt: skip
    lines, source = _lines(store, summary)
    assert (lines["ov-0001"]["voice"], lines["ov-0001"]["engine"]) == ("en-espeak", "espeak"), lines["ov-0001"]
    assert (lines["ov-0002"]["voice"], lines["ov-0002"]["engine"]) == ("en-joe", "piper"), lines["ov-0002"]
    assert source["overrides"] == {"voices": {"ANA": "en-espeak"}}


def test_an_engine_override_speaks_every_line_with_that_engine(on_cluster: Settings, store: ObjectStore,  # noqa: F811
                                                               tmp_path: Path) -> None:  # fmt: skip
    summary = voice_script(on_cluster, _item(store, on_cluster, tmp_path, "engine.csv"), "run-1", engine="espeak")
    lines, source = _lines(store, summary)
    assert {line["engine"] for line in lines.values()} == {"espeak"}, lines
    assert source["overrides"] == {"engine": "espeak"}


def test_overrides_that_cannot_work_fail_before_anything_runs(on_cluster: Settings, store: ObjectStore,  # noqa: F811
                                                              tmp_path: Path) -> None:  # fmt: skip
    item = _item(store, on_cluster, tmp_path, "bad.csv")
    with pytest.raises(ValueError, match=r"voices not in .*voices\.yaml: en-nobody"):
        voice_script(on_cluster, item, "run-1", voices={"ANA": "en-nobody"})
    with pytest.raises(ValueError, match=r"engine override 'cosyvoice' is not enabled"):
        voice_script(on_cluster, item, "run-2", engine="cosyvoice")
    assert not list(store.list("assets", "t/bad/"))
