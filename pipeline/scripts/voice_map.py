"""A speaker → voice map (YAML or JSON object) given to ingestion; ``*`` is the voice for unmapped lines."""

from __future__ import annotations

from pathlib import Path

import yaml


class VoiceMapError(ValueError):
    pass


def load_voice_map(path: str | Path) -> dict[str, str]:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise VoiceMapError(f"{path}: cannot read voice map: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise VoiceMapError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict) or not data:
        raise VoiceMapError(f"{path}: a voice map is a mapping of speaker: voice")
    bad = [k for k, v in data.items() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise VoiceMapError(f"{path}: speakers without a voice name: {', '.join(map(str, bad))}")
    return {str(k): v.strip() for k, v in data.items()}
