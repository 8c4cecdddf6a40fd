"""Contract tests: dubflow's CosyVoice adapter driven through upstream's real code on a tiny generated model.

They run in their own virtualenv (``.venv-cosyvoice``, made by ``make test`` from the ``cosyvoice`` extra): upstream
needs torch 2.9 with torchaudio/torchcodec, which the main environment's CPU torch cannot pair with.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.upstream.source import upstream_root

TRANSCRIPT = "希望你以后能够做的比我还好呦。"  # upstream's example.py, for asset/zero_shot_prompt.wav


def _not_checked(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def upstream() -> Path:
    root = upstream_root()
    for path in (root / "CosyVoice", root / "Matcha-TTS"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    try:
        import cosyvoice.cli.cosyvoice  # noqa: F401
        import torchaudio  # noqa: F401
        import torchcodec  # noqa: F401
    except Exception as exc:  # ImportError, or torchcodec's RuntimeError without FFmpeg's libraries
        _not_checked(
            f"not checked: upstream CosyVoice cannot be imported here ({type(exc).__name__}: {exc}); "
            "run these tests with .venv-cosyvoice (make test)"
        )
    return root


@pytest.fixture(scope="session")
def tiny_model(upstream: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.upstream import tiny_model

    return tiny_model.build(tmp_path_factory.mktemp("models") / "Fun-CosyVoice3-tiny")


@pytest.fixture(scope="session")
def prompt_wav(upstream: Path) -> Path:
    return upstream / "CosyVoice" / "asset" / "zero_shot_prompt.wav"
