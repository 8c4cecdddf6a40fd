"""Where upstream's unmodified sources are (``../shared/upstream`` beside the checkout, or ``DUBFLOW_UPSTREAM``).

A user's clone has no shared/ folder: tests that need upstream then report "not checked" with the reason. In CI
(``CI`` set) the sources must be there, and their absence fails the test instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def upstream_root() -> Path:
    root = Path(os.environ.get("DUBFLOW_UPSTREAM") or REPO.parent / "shared" / "upstream")
    if (root / "CosyVoice" / "cosyvoice").is_dir() and (root / "Matcha-TTS" / "matcha").is_dir():
        return root
    reason = f"not checked: upstream CosyVoice/Matcha-TTS sources not found at {root} (set DUBFLOW_UPSTREAM)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)
