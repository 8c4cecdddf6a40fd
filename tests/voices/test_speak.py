"""The one engine-choice policy (``voices.speak.choose``), on real engines: the planned order, fallbacks without the
voice's engine-specific name, and a failure that names every engine tried."""

from __future__ import annotations

import pytest

from pipeline.engines.base import EngineError, VoiceRef
from pipeline.engines.registry import EngineRegistry, NoEngineError
from pipeline.settings import EngineSettings
from pipeline.voices.speak import choose, reference_file
from tests.engines.conftest import request


@pytest.fixture(scope="module")
def registry() -> EngineRegistry:
    return EngineRegistry(EngineSettings(enabled=["piper", "espeak"]))


def test_the_first_planned_engine_that_speaks_the_line_speaks_it(registry: EngineRegistry) -> None:
    engine, fell_back_from, _ = choose(registry, request("Hello there.", "en"), ("piper", "espeak"))
    assert (engine.name, fell_back_from) == ("piper", None)


def test_a_fallback_engine_gets_no_engine_specific_voice_name(registry: EngineRegistry) -> None:
    voiced = request("Hola a todos.", "es", voice=VoiceRef("v", engine_voice="en_US-lessac-medium"))
    engine, fell_back_from, sent = choose(registry, voiced, ("piper", "espeak"))
    assert (engine.name, fell_back_from, sent.voice.engine_voice) == ("espeak", "piper", None)
    # The QA gate's second new take starts after the voice's own engine: that one is still a fallback.
    engine, fell_back_from, sent = choose(registry, voiced, ("espeak",), voice_engine="piper")
    assert (engine.name, fell_back_from, sent.voice.engine_voice) == ("espeak", "piper", None)


def test_a_cpu_voices_reference_is_for_qa_only_and_reaches_no_engine(registry: EngineRegistry) -> None:
    """A Piper voice enrolled with a clip of itself: neither Piper nor a fallback is handed the clip (the Mandarin
    engine used to warn "cannot clone" on every line of an enrolled voice)."""
    voiced = request("Hello there.", "en", voice=VoiceRef("v", reference_wav="/ref.wav", reference_text="Hi."))
    for engines in (("piper", "espeak"), ("espeak",)):
        _, _, sent = choose(registry, voiced, engines, voice_engine="piper")
        assert (sent.voice.reference_wav, sent.voice.reference_text) == (None, None)


def test_no_planned_engine_names_the_line_and_every_engine_tried(registry: EngineRegistry) -> None:
    with pytest.raises(NoEngineError) as info:
        choose(registry, request("Hola a todos.", "es"), ("piper",))
    assert "line t-1" in str(info.value) and "piper: piper does not speak 'es'" in str(info.value)


def test_an_engine_that_cannot_load_fails_the_line_instead_of_moving_on() -> None:
    registry = EngineRegistry(EngineSettings(enabled=["cosyvoice", "espeak"]))
    with pytest.raises(EngineError, match="model_dir is not set"):
        choose(registry, request("Hello.", "en"), ("cosyvoice", "espeak"))


def test_an_s3_reference_needs_a_store_and_a_local_one_does_not(tmp_path) -> None:
    assert reference_file(None) is None
    assert reference_file(str(tmp_path / "ref.wav")) == tmp_path / "ref.wav"
    with pytest.raises(ValueError, match="no store"):
        reference_file("s3://voices/ref.wav")
