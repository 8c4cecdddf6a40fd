"""``dubflow voices enroll | enrolled | transcript`` against the suite's S3 server, with real Whisper and engines."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import soundfile as sf
from typer.testing import CliRunner

from pipeline.cli import app
from tests.conftest import REPO

runner = CliRunner()
ZH_CLIP = REPO / "samples" / "voices" / "cosyvoice-zero-shot-prompt.wav"


def _config(tmp_path: Path) -> Path:
    """The shipped settings with a catalog of one hand-enrolled clone (no clip named) and one CPU voice."""
    (tmp_path / "voices.yaml").write_text(
        "voices:\n"
        "  studio-lin:\n    engine: cosyvoice\n    languages: [zh]\n"
        "  robot:\n    engine: espeak\n    engine_voice: en-us\n    languages: [en]\n",
        encoding="utf-8",
    )
    settings = (REPO / "configs" / "pipeline.yaml").read_text(encoding="utf-8")
    config = tmp_path / "pipeline.yaml"
    config.write_text(settings.replace("voices_file: configs/voices.yaml", f"voices_file: {tmp_path / 'voices.yaml'}"))
    return config


def test_enroll_a_recording_correct_its_transcript_and_list_them(s3_env: dict[str, str], tmp_path: Path) -> None:
    config = ["--config", str(_config(tmp_path))]
    enrolled = runner.invoke(app, ["voices", "enroll", "studio-lin", "--clip", str(ZH_CLIP), *config])
    assert enrolled.exit_code == 0, enrolled.output
    assert re.search(r"studio-lin: 3\.\d s at 24000 Hz, zh", enrolled.output)  # 3.5 s file, trimmed to its speech
    assert "warn        duration 2.86 s" in enrolled.output and "pass        one_speaker" in enrolled.output
    assert "transcript (Whisper (unconfirmed)):" in enrolled.output

    fixed = runner.invoke(
        app, ["voices", "transcript", "studio-lin", "希望你以后能够做的比我还好呦。", "--by", "mei", *config]
    )
    assert fixed.exit_code == 0 and "studio-lin: transcript by mei: 希望你以后能够做的比我还好呦。" in fixed.output
    robot = runner.invoke(app, ["voices", "enroll", "robot", *config])
    assert robot.exit_code == 0 and "transcript (script): The harbour lights" in robot.output, robot.output
    again = runner.invoke(app, ["voices", "enroll", *config])
    assert "robot: already enrolled" in again.output and "studio-lin: already enrolled" in again.output

    table = runner.invoke(app, ["voices", "enrolled", *config], terminal_width=300)
    assert table.exit_code == 0
    rows = {line.split("│")[1].strip(): line for line in table.output.splitlines() if line.count("│") > 3}
    assert "mei" in rows["studio-lin"] and "script" in rows["robot"], table.output
    one = runner.invoke(app, ["voices", "enrolled", "studio-lin", *config])
    assert "transcript (mei): 希望你以后能够做的比我还好呦。" in one.output


def test_bad_clips_and_requests_say_why_and_exit_1(s3_env: dict[str, str], tmp_path: Path) -> None:
    config = ["--config", str(_config(tmp_path))]
    x, rate = sf.read(ZH_CLIP, dtype="float32")
    sf.write(tmp_path / "clipped.wav", np.clip(x * 8, -1, 1), rate)
    clipped = runner.invoke(app, ["voices", "enroll", "studio-lin", "--clip", str(tmp_path / "clipped.wav"), *config])
    assert clipped.exit_code == 1 and "voice 'studio-lin': the clip cannot be enrolled: clipping" in clipped.output
    both = runner.invoke(app, ["voices", "enroll", "studio-lin", "robot", "--clip", str(ZH_CLIP), *config])
    assert both.exit_code == 1 and "--clip enrolls one voice" in both.output
    unknown = runner.invoke(app, ["voices", "enroll", "nobody", *config])
    assert unknown.exit_code == 1 and "unknown voice 'nobody'" in unknown.output
    missing = runner.invoke(app, ["voices", "transcript", "robot", "Hello.", *config])
    assert missing.exit_code == 1 and "voice 'robot' is not enrolled" in missing.output
    shutil.copy(ZH_CLIP, tmp_path / "lin.wav")
    named = tmp_path / "voices.yaml"
    named.write_text(named.read_text().replace("languages: [zh]\n", "languages: [zh]\n    reference: lin.wav\n", 1))
    refused = runner.invoke(app, ["voices", "enroll", "studio-lin", "--clip", str(ZH_CLIP), *config])
    assert refused.exit_code == 1 and "the catalog names its clip (lin.wav)" in refused.output
