"""scripts/gpu_smoke.py runs its whole contract on the tiny model here (CPU), as it would on a GPU node."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.upstream.source import REPO


def test_gpu_smoke_on_the_tiny_model(upstream: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gpu_smoke.py"), "--allow-cpu", "--upstream", str(upstream),
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=280, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "building the tiny CosyVoice3" in proc.stdout and "first-call latency" in proc.stdout
    assert sorted(p.name for p in (tmp_path / "fp32").glob("*.wav")) == [
        "dialect.wav", "english.wav", "instruct.wav", "mandarin_pinyin.wav"
    ]  # fmt: skip
    modes = [line.split()[1] for line in proc.stdout.splitlines() if line.split()[:1] in (["english"], ["dialect"])]
    assert modes == ["cross_lingual", "instruct2"]
