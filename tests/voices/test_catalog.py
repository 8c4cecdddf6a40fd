from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from pipeline.voices.catalog import check_reference_clip, load_catalog
from tests.conftest import REPO


def test_shipped_catalog_is_valid() -> None:
    catalog = load_catalog(REPO / "configs" / "voices.yaml")
    assert catalog.problems == []
    assert {"en-joe", "zh-baker", "yue-espeak"} <= set(catalog.voices)
    assert catalog.voice_map("demo")["MAYA"] == "en-joe"


def test_voice_for_line_uses_the_project_default_when_the_voice_cannot_speak_the_language() -> None:
    catalog = load_catalog(REPO / "configs" / "voices.yaml")
    assert catalog.voice_for_line("demo", "en-joe", "en").id == "en-joe"
    assert catalog.voice_for_line("demo", "en-joe", "zh").id == "zh-baker"
    with pytest.raises(KeyError, match="no default voice for 'fr'"):
        catalog.voice_for_line("demo", None, "fr")


def _clip(path, seconds: float, channels: int = 1) -> None:
    samples = 0.1 * np.sin(np.linspace(0, 440 * 2 * np.pi * seconds, int(16000 * seconds)))
    sf.write(path, np.tile(samples[:, None], (1, channels)), 16000)


def test_reference_clip_rules(tmp_path) -> None:
    _clip(tmp_path / "ok.wav", 5)
    _clip(tmp_path / "short.wav", 1.5)
    _clip(tmp_path / "long.wav", 31)
    _clip(tmp_path / "surround.wav", 4, channels=6)
    (tmp_path / "junk.wav").write_bytes(b"RIFF not audio")
    assert check_reference_clip(tmp_path / "ok.wav") is None
    assert "1.5 s" in check_reference_clip(tmp_path / "short.wav")
    assert "31.0 s" in check_reference_clip(tmp_path / "long.wav")
    assert "6 channels" in check_reference_clip(tmp_path / "surround.wav")
    assert "does not decode" in check_reference_clip(tmp_path / "junk.wav")
    assert "does not exist" in check_reference_clip(tmp_path / "none.wav")


def test_catalog_problems_are_all_reported_with_lines(tmp_path) -> None:
    _clip(tmp_path / "short.wav", 1.0)
    path = tmp_path / "voices.yaml"
    path.write_text(
        "voices:\n"
        "  good:\n    engine: piper\n    languages: [en]\n"
        "  clone-a:\n    engine: cosyvoice\n    languages: [en]\n"
        "  clone-b:\n    engine: cosyvoice\n    languages: [zh]\n    reference: short.wav\n    reference_text: 你好\n"
        "  remote:\n    engine: cosyvoice\n    languages: [zh]\n    reference: s3://voices/r.wav\n    reference_text: hi\n"
        "projects:\n  show:\n    speakers:\n      MAYA: missing\n"
    )
    catalog = load_catalog(path)
    found = [(p.line, p.severity, p.code) for p in catalog.problems]
    assert found == [
        (5, "warning", "no-reference"),
        (8, "error", "bad-reference"),
        (13, "warning", "reference-not-checked"),
        (19, "error", "unknown-voice"),
    ]


def test_schema_errors_name_the_key(tmp_path) -> None:
    path = tmp_path / "voices.yaml"
    path.write_text("voices:\n  v1:\n    engine: piper\n    languages: []\n    colour: red\n")
    codes = [(p.line, p.code, p.message.split(":")[0]) for p in load_catalog(path).problems]
    assert codes == [(2, "bad-voice", "voices.v1.languages"), (2, "bad-voice", "voices.v1.colour")]
