"""Post-processing + QA on the workers, then packaging and publishing: the gate end to end on real services."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import soundfile as sf

from pipeline.audio.profiles import resolve_profile
from pipeline.compute.fanout import Stage, synthesize
from pipeline.compute.finish import finish
from pipeline.deliver import package, publish_package
from pipeline.qa.report import stored_media
from pipeline.qa.results import ScriptQa
from pipeline.scripts.ingest import ingest_text
from pipeline.settings import Settings
from pipeline.storage.store import ObjectStore
from pipeline.voices.catalog import Catalog
from tests.conftest import REPO

SRT_ROWS = [  # line_id, text, voice, start, end
    ("d-1", "Good evening.", "", "00:00:01,000", "00:00:03,000"),
    ("d-2", "The tide is turning, and we should go now.", "", "00:00:03,500", "00:00:06,500"),
    ("d-3", "a tone nobody can understand", "faulty", "00:00:07,000", "00:00:09,000"),
]


def _lines(rows):
    buffer = io.StringIO()
    csv.writer(buffer).writerows([("line_id", "text", "voice", "start", "end"), *rows])
    result = ingest_text(buffer.getvalue(), "ep.csv", Settings().ingest)
    assert result.ok, result.problems
    return result.lines


def test_the_gate_checks_retakes_quarantines_and_caches(
    dask_client, store: ObjectStore, settings: Settings, catalog: Catalog, tmp_path: Path
) -> None:
    lines = _lines(SRT_ROWS)
    profile = resolve_profile(REPO / "configs/profiles.yaml", "broadcast")
    report = synthesize(lines, catalog, "t", settings, store, client=dask_client)
    assert report.count("synthesized") == 3
    checked = finish(report, Stage(settings, store, dask_client), profile)
    by_id = {q.line_id: q for q in checked}
    for line_id in ("d-1", "d-2"):  # real speech: loud enough, on target, fits its cue, intelligible
        q = by_id[line_id]
        assert not q.quarantined, q.checks
        names = {c.name: c for c in q.checks}
        assert names["loudness"].verdict == "pass" and abs(names["loudness"].value + 23.0) <= 1.0
        assert names["true_peak"].verdict == "pass" and names["duration_vs_cue"].verdict == "pass"
        assert names["intelligibility"].verdict in ("pass", "warn"), names["intelligibility"]
        assert names["speaker_similarity"].verdict == "not-checked"  # no reference clip for this voice
    tone = by_id["d-3"]  # a tone is not speech: ASR hears nothing, retakes cannot fix it
    assert tone.quarantined and tone.attempts == settings.qa.max_resynth + 1
    assert any(r.startswith("intelligibility") for r in tone.reasons)

    for q in checked:  # the workers made each line's report plot and player, next to its processed clip
        made = stored_media(store, q.key or "", audio=lambda q=q: pytest.fail(f"{q.line_id}: no media"))
        assert made[0] and made[1]

    again = finish(report, Stage(settings, store, None), profile)  # everything cached: no cluster needed
    assert [q.to_dict() for q in again] == [q.to_dict() for q in checked]
    # A forced re-synthesis (new raw clips under the same keys) must not reuse those cached results.
    stamps = {k: store.stat("staging", k).last_modified for k in (o.key for o in store.list("staging", "post/"))}
    forced = finish(report, Stage(settings, store, dask_client), profile, force=True)
    assert [q.line_id for q in forced] == [q.line_id for q in checked]
    rewritten = {k for k in stamps if store.stat("staging", k).last_modified != stamps[k]}
    assert rewritten, "force reused every cached QA result"

    pkg = package(lines, ScriptQa("t", "ep", profile.name, checked), profile, store, tmp_path / "out", {})
    assert sorted(d.line_id for d in pkg.lines) == ["d-1", "d-2"]  # the quarantined line is not delivered
    names = sorted(e.name for e in pkg.extras)
    assert names == ["qa/report.html", "qa/report.json", "qa/report.parquet", "stems/en.wav", "subtitles/en.srt",
                     "subtitles/en.vtt"]  # fmt: skip
    stem = next(e.path for e in pkg.extras if e.name == "stems/en.wav")
    info = sf.info(str(stem))
    assert info.samplerate == 48000 and info.subtype == "PCM_24" and info.duration > 6.0
    published = publish_package(store, pkg, "run-qa", {"name": "ep.csv"})
    manifest = json.loads(store.get_bytes("assets", published.manifest_key))
    assert manifest["source"]["quarantined"].keys() == {"d-3"}
    assert {line["qa_verdict"] for line in manifest["lines"]} <= {"pass", "warn"}
