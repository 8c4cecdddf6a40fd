"""The QA gate alone: real engines, real audio, the real S3 server, and no Dask cluster."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile as sf

from pipeline.audio.profiles import resolve_profile
from pipeline.engines.registry import EngineRegistry
from pipeline.qa.gate import Gate, Slot, finish_line, finish_lines, slots
from pipeline.scripts.ingest import ingest_text
from pipeline.settings import Settings
from pipeline.storage import keys
from pipeline.storage.store import ObjectStore
from pipeline.voices.catalog import load_catalog
from pipeline.voices.plan import plan_jobs
from pipeline.voices.speak import reference_file, speak
from tests.conftest import REPO
from tests.engines.conftest import request

SHEET = "line_id,text,start,end\nq-1,Good evening and welcome back to the harbour.,1.0,4.5\nq-2,Stay close.,5.0,7.0\n"


def _wav(samples: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="FLOAT")
    return buffer.getvalue()


def test_the_gate_checks_and_renews_a_take_without_a_cluster(store: ObjectStore) -> None:
    settings = Settings()
    qa = settings.qa.model_copy(update={"asr": False, "similarity": False})
    catalog = load_catalog(REPO / "configs/voices.yaml")
    lines = ingest_text(SHEET, "q.csv", settings.ingest, voice_map=catalog.voice_map("demo")).lines
    registry = EngineRegistry(settings.engines)
    jobs, failures = plan_jobs(lines, catalog, "demo", registry, 0)
    assert not failures and len(jobs) == 2
    assert slots(jobs)["q-1"] == Slot(3.5, 0.5) and slots(jobs)["q-2"] == Slot(2.0, None)
    profile = resolve_profile(REPO / "configs/profiles.yaml", "broadcast")
    job = jobs[0]
    spoken = speak(registry, job, reference_file(job.reference))
    raw = keys.cache_key(job.cache_key)
    store.put_bytes("staging", raw, _wav(spoken.result.samples, spoken.result.sample_rate))
    checked = finish_line(Gate(registry, store, profile, qa), job, raw, spoken.engine.name, Slot(3.5, 0.5))
    assert not checked.quarantined and checked.attempts == 1, checked.checks
    assert {c.name: c.verdict for c in checked.checks}["loudness"] == "pass"
    assert checked.key is not None and store.exists("staging", checked.key)

    # A silent raw clip fails the audio check, which another take can fix: the gate speaks the line again.
    silent = keys.cache_key("0" * 64)
    store.put_bytes("staging", silent, _wav(np.zeros(22050, dtype=np.float32), 22050))
    renewed = finish_line(Gate(registry, store, profile, qa), job, silent, spoken.engine.name, Slot(3.5, 0.5))
    assert renewed.attempts == 2 and not renewed.quarantined, renewed.checks
    assert renewed.engine == spoken.engine.name


def test_a_wrong_take_among_packed_lines_is_heard_and_taken_again(store: ObjectStore) -> None:
    settings = Settings()
    qa = settings.qa.model_copy(update={"similarity": False})
    catalog = load_catalog(REPO / "configs/voices.yaml")
    sheet = "line_id,text\nz-1,我们在码头等了很久。\nz-2,渡船终于来了。\nz-3,灯塔的光照在海面上。\n"
    lines = ingest_text(sheet, "z.csv", settings.ingest, voice_map=catalog.voice_map("demo")).lines
    registry = EngineRegistry(settings.engines)
    jobs, failures = plan_jobs(lines, catalog, "demo", registry, 0)
    assert not failures and {job.engines[0] for job in jobs} == {"mandarin"}
    profile = resolve_profile(REPO / "configs/profiles.yaml", "broadcast")
    raw = []
    for job in jobs:
        result = speak(registry, job, None).result
        raw.append(keys.cache_key(job.cache_key))
        store.put_bytes("staging", raw[-1], _wav(result.samples, result.sample_rate))
    items = [(job, raw[2] if n == 1 else raw[n], "mandarin", Slot(None, None)) for n, job in enumerate(jobs)]
    checked = finish_lines(Gate(registry, store, profile, qa), items)  # z-2's raw clip says z-3's text
    by_id = {q.line_id: q for q in checked if not isinstance(q, Exception)}
    assert [q.attempts for q in by_id.values()] == [1, 2, 1], checked
    assert all(not q.quarantined and q.verdict != "fail" for q in by_id.values()), checked
    assert {c.name: c.unit for c in by_id["z-1"].checks}["intelligibility"] == "PER"


def test_a_garbled_neighbour_does_not_fail_a_good_line(store: ObjectStore) -> None:
    """Packed, Whisper gave the good second line's first words to the garbled first one (espeak's "Good evening,
    harbour" heard as nothing): a packed failure is confirmed by hearing the line alone."""
    settings = Settings()
    qa = settings.qa.model_copy(update={"similarity": False, "max_resynth": 0})
    catalog = load_catalog(REPO / "configs/voices.yaml")
    sheet = 'line_id,text\ng-1,"Good evening, harbour."\ng-2,The tide is turning.\n'
    lines = ingest_text(sheet, "g.csv", settings.ingest, voice_map=catalog.voice_map("demo")).lines
    registry = EngineRegistry(settings.engines)
    jobs, _ = plan_jobs(lines, catalog, "demo", registry, 0)
    profile = resolve_profile(REPO / "configs/profiles.yaml", "broadcast")
    garbled = registry.get("espeak").synthesize(request("Good evening, harbour.", "en", seed=1))
    good = speak(registry, jobs[1], None).result
    raw = [keys.cache_key("1" * 64), keys.cache_key(jobs[1].cache_key)]
    for key, clip in zip(raw, (garbled, good), strict=True):
        store.put_bytes("staging", key, _wav(clip.samples, clip.sample_rate))
    items = [(job, key, "piper", Slot(None, None)) for job, key in zip(jobs, raw, strict=True)]
    second = finish_lines(Gate(registry, store, profile, qa), items)[1]
    assert not isinstance(second, Exception) and second.verdict != "fail", second


ESPEAK_VOICES = """
voices:
  en-espeak: {engine: espeak, engine_voice: en-us, languages: [en]}
  en-espeak-alone: {engine: espeak, engine_voice: en-us, languages: [en], fallback: false}
projects:
  t: {defaults: {en: en-espeak}}
"""


def test_an_engine_whose_takes_do_not_vary_is_not_asked_for_another(store: ObjectStore, tmp_path: Path) -> None:
    """espeak-ng says a line the same way every time: QA's new take of a failed espeak clip comes from the next
    planned engine, and where none is planned there is no new take (said, and the line quarantined)."""
    settings = Settings()
    qa = settings.qa.model_copy(update={"asr": False, "similarity": False})
    (tmp_path / "voices.yaml").write_text(ESPEAK_VOICES)
    catalog = load_catalog(tmp_path / "voices.yaml")
    sheet = "line_id,text,voice\ne-1,Stay close.,en-espeak\ne-2,Stay close.,en-espeak-alone\n"
    registry = EngineRegistry(settings.engines)
    jobs, failures = plan_jobs(ingest_text(sheet, "e.csv", settings.ingest).lines, catalog, "t", registry, 0)
    assert not failures and jobs[0].engines[0] == "espeak" and len(jobs[0].engines) > 1
    assert jobs[1].engines == ("espeak",)
    profile = resolve_profile(REPO / "configs/profiles.yaml", "broadcast")
    silent = keys.cache_key("1" * 64)  # what espeak "said": a clip that fails the audio check
    store.put_bytes("staging", silent, _wav(np.zeros(22050, dtype=np.float32), 22050))

    renewed = finish_line(Gate(registry, store, profile, qa), jobs[0], silent, "espeak", Slot(None, None))
    assert renewed.attempts == 2 and renewed.engine == jobs[0].engines[1] and not renewed.quarantined, renewed

    alone = finish_line(Gate(registry, store, profile, qa), jobs[1], silent, "espeak", Slot(None, None))
    assert alone.attempts == 1 and alone.quarantined and alone.engine == "espeak", alone
    said = {c.name: c for c in alone.checks}["resynthesis"]
    assert said.verdict == "not-checked" and "espeak speaks this line the same way every time" in said.detail
