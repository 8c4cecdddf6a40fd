"""Cache keys: everything that changes the audio changes the key, nothing else does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from pipeline.engines.registry import EngineRegistry
from pipeline.scripts.model import Line
from pipeline.settings import Settings
from pipeline.voices.catalog import Catalog
from pipeline.voices.plan import line_seed, plan_jobs


def _keys(lines: list[Line], catalog: Catalog, settings: Settings, seed: int = 0) -> dict[str, str]:
    jobs, failures = plan_jobs(lines, catalog, "t", EngineRegistry(settings.engines), seed)
    assert not failures
    return {job.line.line_id: job.cache_key for job in jobs}


ROWS = [("a", "Hello there.", ""), ("b", "你好。", ""), ("c", "General Kenobi.", "")]


def test_keys_are_stable_and_change_with_what_is_said(
    catalog: Catalog, settings: Settings, sheet: Callable[..., list[Line]]
) -> None:
    base = _keys(sheet(ROWS), catalog, settings)
    assert base == _keys(sheet(ROWS), catalog, settings) and len(set(base.values())) == 3
    edited = _keys(sheet([ROWS[0], ("b", "你好吗？", ""), ROWS[2]]), catalog, settings)
    assert [k for k in base if base[k] != edited[k]] == ["b"]
    renamed_script = _keys(sheet(ROWS, script_id="other"), catalog, settings)
    assert renamed_script == base  # the same words in the same voice are the same clip
    restyled = _keys([replace(sheet(ROWS)[0], style="whisper")], catalog, settings)
    assert restyled["a"] != base["a"]
    assert _keys(sheet(ROWS), catalog, settings, seed=7)["a"] != base["a"]
    revoiced = _keys(sheet([("a", "Hello there.", "faulty")]), catalog, settings)
    assert revoiced["a"] != base["a"]


def test_engine_identity_is_part_of_the_key(
    catalog: Catalog, settings: Settings, sheet: Callable[..., list[Line]]
) -> None:
    base = _keys(sheet(ROWS), catalog, settings)
    other_voice = settings.engines.model_copy(update={"piper": settings.engines.piper.model_copy(
        update={"default_voice": "en_US-other"})})  # fmt: skip
    changed = _keys(sheet(ROWS), catalog, settings.model_copy(update={"engines": other_voice}))
    assert changed["a"] != base["a"] and changed["b"] == base["b"]  # only the Piper lines


def test_line_seeds_are_stable_and_distinct() -> None:
    assert line_seed(0, "a") == line_seed(0, "a") != line_seed(0, "b")
    assert line_seed(1, "a") != line_seed(0, "a")


def test_a_language_no_enabled_engine_speaks_fails_at_plan_time_naming_line_language_and_engines(tmp_path) -> None:
    from pipeline.scripts.ingest import ingest_text
    from pipeline.voices.catalog import load_catalog

    voices = tmp_path / "voices.yaml"
    voices.write_text(
        "voices:\n  joe: {engine: piper, languages: [en]}\n  zulu: {engine: espeak, languages: [zu]}\n"
        "projects:\n  t: {defaults: {en: joe, zu: zulu}}\n"
    )
    settings = Settings()
    sheet = "line_id,text,lang\nok-1,Hello there.,en\nzu-1,Sawubona.,zu\n"
    lines = list(ingest_text(sheet, "s.csv", settings.ingest).lines)
    _, failures = plan_jobs(lines, load_catalog(voices), "t", EngineRegistry(settings.engines), 0)
    assert [f.line.line_id for f in failures] == ["zu-1"]
    message = failures[0].error
    assert (
        "zu-1" in message and "source line 3" in message and "'zu'" in message and "espeak: no voice for it" in message
    )


def test_a_reference_clip_is_in_the_key_only_of_a_voice_that_clones_from_it(tmp_path, settings, sheet) -> None:
    """Enrolling a CPU voice (its clip is QA's reference) keeps its lines cached; correcting a cloning voice's
    transcript re-voices that voice's lines only. QA's cached result follows the clip either way."""
    import shutil

    from pipeline.audio.profiles import Profile
    from pipeline.qa.gate import Slot, result_key
    from pipeline.settings import QaSettings
    from pipeline.voices.catalog import load_catalog
    from tests.conftest import REPO

    shutil.copy(REPO / "samples" / "voices" / "cosyvoice-zero-shot-prompt.wav", tmp_path / "clip.wav")
    engines = settings.engines.model_copy(update={
        "enabled": [*settings.engines.enabled, "cloning"],
        "custom": {**settings.engines.custom, "cloning": "tests.compute.faulty_engine:CloningEngine"}})  # fmt: skip
    settings = settings.model_copy(update={"engines": engines})

    def plan(joe: str, clone: str) -> dict[str, object]:
        path = tmp_path / "voices.yaml"
        path.write_text(
            f"voices:\n  joe: {{engine: piper, engine_voice: en_US-joe-medium, languages: [en]{joe}}}\n"
            f"  clone: {{engine: cloning, languages: [en], fallback: false, reference: clip.wav{clone}}}\n"
        )
        jobs, failures = plan_jobs(sheet([("a", "Hello.", "joe"), ("b", "Hi.", "clone")]), load_catalog(path), "t",
                                   EngineRegistry(settings.engines), 0)  # fmt: skip
        return {"failures": failures, **{job.line.line_id: job for job in jobs}}

    unenrolled = plan("", ", reference_text: 'Words.'")
    enrolled = plan(", reference: clip.wav, reference_text: 'The passage.'", ", reference_text: 'Words.'")
    corrected = plan(", reference: clip.wav, reference_text: 'The passage.'", ", reference_text: 'Other words.'")
    assert enrolled["a"].cache_key == unenrolled["a"].cache_key == corrected["a"].cache_key
    assert corrected["b"].cache_key != enrolled["b"].cache_key
    assert enrolled["a"].reference_sha256 is not None and unenrolled["a"].reference_sha256 is None
    qa, slot, profile = QaSettings(), Slot(None, None), Profile(name="t")
    assert result_key("k", enrolled["a"], profile, qa, slot) != result_key("k", unenrolled["a"], profile, qa, slot)
    no_transcript = plan("", "")
    assert not no_transcript.get("b") and "voice clone has no prompt transcript: enroll it" in str(
        no_transcript["failures"][0].error)  # fmt: skip
