from __future__ import annotations

import pytest

from pipeline.engines.base import EngineError
from pipeline.engines.registry import EngineRegistry, NoEngineError
from pipeline.settings import EngineSettings
from tests.engines.conftest import request


@pytest.fixture(scope="module")
def registry() -> EngineRegistry:
    return EngineRegistry(EngineSettings(enabled=["piper", "espeak"]))


def test_voice_engine_first_then_language_fallback(registry) -> None:
    assert registry.order("en", None) == ["cosyvoice", "piper", "espeak"]
    assert registry.order("en-us", "espeak") == ["espeak", "cosyvoice", "piper"]
    assert registry.order("fr", None) == ["cosyvoice", "espeak"]


def test_choose_skips_disabled_engines_and_reports_the_fallback(registry) -> None:
    choice = registry.choose(request("Hello there.", "en"))
    assert choice.engine.name == "piper" and choice.fell_back_from is None
    cloned = registry.choose(request("Hello there.", "en"), voice_engine="cosyvoice")
    assert cloned.engine.name == "piper" and cloned.fell_back_from == "cosyvoice"


def test_a_voice_that_forbids_fallback_fails_instead(registry) -> None:
    with pytest.raises(NoEngineError, match="cosyvoice is not enabled"):
        registry.choose(request("Hello.", "en"), voice_engine="cosyvoice", allow_fallback=False)


def test_no_engine_names_line_language_and_every_engine_tried() -> None:
    registry = EngineRegistry(EngineSettings(enabled=["piper"], fallback={"*": ["cosyvoice", "piper"]}))
    with pytest.raises(NoEngineError) as info:
        registry.choose(request("Hola a todos.", "es"))
    message = str(info.value)
    assert "line t-1" in message and "'es'" in message
    assert "cosyvoice: cosyvoice is not enabled" in message and "piper: piper does not speak 'es'" in message


def test_unknown_engine_names_are_rejected_at_start() -> None:
    with pytest.raises(ValueError, match="unknown engine"):
        EngineRegistry(EngineSettings(enabled=["piper", "festival"]))


def test_cosyvoice_without_a_model_dir_is_a_clear_error() -> None:
    registry = EngineRegistry(EngineSettings(enabled=["cosyvoice"]))
    with pytest.raises(EngineError, match="model_dir is not set"):
        registry.get("cosyvoice")
    assert registry.load_all() == {"cosyvoice": "cosyvoice: engines.cosyvoice.model_dir is not set"}
