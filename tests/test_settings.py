from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from pipeline.settings import Settings, load_settings
from tests.conftest import REPO


def test_shipped_yaml_is_valid_and_matches_the_defaults() -> None:
    data = yaml.safe_load((REPO / "configs" / "pipeline.yaml").read_text())
    # The YAML documents the defaults; this keeps the two from drifting apart.
    assert Settings.model_validate(data).model_dump() == Settings.model_construct().model_dump()


def test_env_overrides_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUBFLOW_INGEST__FRAME_RATE", "23.976")
    monkeypatch.setenv("DUBFLOW_INGEST__OVERLAP", "error")
    settings = load_settings(REPO / "configs" / "pipeline.yaml")
    assert settings.ingest.frame_rate == 23.976 and settings.ingest.overlap == "error"


def test_config_file_from_env_and_explicit_overrides(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "custom.yaml"
    path.write_text("project: studio-a\ningest:\n  max_lines: 10\n")
    monkeypatch.setenv("DUBFLOW_CONFIG", str(path))
    assert load_settings().ingest.max_lines == 10
    assert load_settings(project="override").project == "override"


def test_bad_config_is_rejected_with_the_key(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("ingest:\n  overlap: sometimes\n  nonsense: 1\n")
    with pytest.raises(ValidationError) as info:
        load_settings(path)
    text = str(info.value)
    assert "ingest.overlap" in text and "ingest.nonsense" in text


def test_missing_config_file_is_an_error(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path / "none.yaml")
    monkeypatch.setenv("DUBFLOW_CONFIG", str(tmp_path / "none.yaml"))
    with pytest.raises(FileNotFoundError, match="DUBFLOW_CONFIG"):
        load_settings()
