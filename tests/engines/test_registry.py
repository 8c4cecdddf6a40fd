from __future__ import annotations

import pytest

from pipeline.engines.base import EngineError
from pipeline.engines.registry import EngineRegistry
from pipeline.settings import EngineSettings


@pytest.fixture(scope="module")
def registry() -> EngineRegistry:
    return EngineRegistry(EngineSettings(enabled=["piper", "espeak"]))


def test_voice_engine_first_then_language_fallback(registry) -> None:
    assert registry.order("en", None) == ["cosyvoice", "piper", "kokoro", "espeak"]
    assert registry.order("en-us", "espeak") == ["espeak", "cosyvoice", "piper", "kokoro"]
    assert registry.order("ja", None) == ["cosyvoice", "kokoro", "espeak"]
    assert registry.order("fr", None) == ["cosyvoice", "espeak"]


def test_unknown_engine_names_are_rejected_at_start() -> None:
    with pytest.raises(ValueError, match="unknown engine"):
        EngineRegistry(EngineSettings(enabled=["piper", "festival"]))


def test_cosyvoice_without_a_model_dir_is_a_clear_error() -> None:
    registry = EngineRegistry(EngineSettings(enabled=["cosyvoice"]))
    with pytest.raises(EngineError, match="model_dir is not set"):
        registry.get("cosyvoice")
    assert registry.load_all() == {"cosyvoice": "cosyvoice: engines.cosyvoice.model_dir is not set"}
