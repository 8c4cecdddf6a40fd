"""The ``dubflow`` command as a user runs it: exit codes, every problem listed, tables written or not."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.scripts.table import read_lines
from tests.conftest import FIXTURES, REPO, SAMPLES

runner = CliRunner()

# Every malformed fixture and the problems `dubflow ingest` must list for it: (line, code).
MALFORMED: dict[str, list[tuple[int | None, str]]] = {
    "bad_timing.srt": [(6, "bad-timing"), (10, "end-before-start"), (14, "out-of-order"), (18, "empty-cue")],
    "bad_markup.vtt": [(3, "markup"), (6, "markup"), (6, "markup"), (9, "markup"), (9, "markup")],
    "bad_sheet.csv": [
        (1, "unknown-column"),
        (3, "missing-text"),
        (4, "bad-timecode"),
        (5, "duplicate-id"),
        (6, "bad-line-id"),
        (7, "bad-lang"),
        (8, "bad-timecode"),
    ],
    "no_text_column.tsv": [(1, "missing-text-column"), (1, "unknown-column")],
    "bad_json.json": [(4, "bad-json")],
    "bad_lines.jsonl": [(2, "bad-json"), (3, "bad-json"), (4, "bad-field"), (5, "missing-text")],
    "unbalanced.md": [(3, "markup"), (3, "markup"), (5, "markup"), (5, "markup")],
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_ingest_lists_every_problem_and_exits_non_zero(name: str, tmp_path: Path) -> None:
    path = FIXTURES / "malformed" / name
    result = runner.invoke(app, ["ingest", "--quiet", "--out", str(tmp_path), str(path)])
    assert result.exit_code == 1, result.output
    listed = [
        line for line in result.output.splitlines() if line.startswith(str(path) + ":") or line.startswith(f"{path}: ")
    ]
    found = []
    for line in listed:
        location, _, rest = line.partition(": ")
        number = location.rsplit(":", 1)[1] if location.count(":") else None
        found.append((int(number) if number and number.isdigit() else None, rest.rsplit("[", 1)[1].rstrip("]")))
    assert found == MALFORMED[name]
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_every_malformed_fixture_is_covered() -> None:
    assert sorted(p.name for p in (FIXTURES / "malformed").iterdir()) == sorted(MALFORMED)


def test_ingest_writes_tables_and_exits_zero(tmp_path: Path) -> None:
    scripts = sorted(str(p) for p in SAMPLES.iterdir() if p.is_file())  # samples/lexicon/ is the demo's lexicon
    result = runner.invoke(app, ["ingest", "--out", str(tmp_path), *scripts])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in tmp_path.iterdir())
    names = ["en_dub_ep01", "ja_dub_ep01", "narration_harbour", "zh_linesheet"]
    assert written == [f"{name}.lines.parquet" for name in names]
    assert len(read_lines(tmp_path / "zh_linesheet.lines.parquet")) == 6


def test_strict_turns_warnings_into_failure(tmp_path: Path, write) -> None:
    path = write("s.csv", "text,mood\nHi.,happy\n")
    assert runner.invoke(app, ["ingest", "-q", str(path)]).exit_code == 0
    assert runner.invoke(app, ["ingest", "-q", "--strict", str(path)]).exit_code == 1


def test_voice_map_option_and_its_errors(write) -> None:
    sheet = write("s.csv", "speaker,text\nMaya,Hi\nZed,Who?\n")
    good = write("map.yaml", "Maya: en-female\n")
    result = runner.invoke(app, ["ingest", "-q", "--voice-map", str(good), str(sheet)])
    assert result.exit_code == 1 and "unknown speaker 'Zed'" in result.output
    broken = write("broken.yaml", "Maya: [unclosed\n")
    result = runner.invoke(app, ["ingest", "-q", "--voice-map", str(broken), str(sheet)])
    assert result.exit_code == 1 and "broken.yaml" in result.output and "invalid YAML" in result.output


def test_text_command_shows_the_structure() -> None:
    result = runner.invoke(app, ["text", "她[h][ào]干净，共3个", "--style", "用兴奋的语气说"])
    assert result.exit_code == 0, result.output
    assert "她[hao4]干净" in result.output and "共三个" in result.output and "excited" in result.output
    bad = runner.invoke(app, ["text", "[door slams]"])
    assert bad.exit_code == 1 and "column 1" in bad.output


@pytest.mark.timeout(900)  # the whole pipeline, ASR included: ~80 s alone, minutes on a loaded 2-core box
def test_demo_speaks_and_publishes_the_samples(tmp_path: Path, s3_env: dict[str, str]) -> None:
    """`dubflow demo` on a samples folder of one script and the lexicon: the CLI's whole path (lexicon stored with
    the project, the cast enrolled, voiced, checked, published, listed). Every sample, in every language, is voiced
    and heard by `make demo`'s test (tests/dags/test_demo.py) through the same chain; voicing them all here too
    cost 90 s more."""
    samples = tmp_path / "samples"
    shutil.copytree(SAMPLES / "lexicon", samples / "lexicon")
    shutil.copy(SAMPLES / "en_dub_ep01.srt", samples)
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "out"), "--samples", str(samples)])
    assert result.exit_code == 0, result.output
    assert "lexicon: s3://" in result.output and "/demo/lexicon/demo.yaml" in result.output
    assert "voices enrolled: en-clone, en-joe," in result.output  # the cast and the recordings, before any line
    from pipeline.settings import load_settings
    from pipeline.storage.store import ObjectStore

    store = ObjectStore.from_settings(load_settings().storage)
    report = json.loads(store.get_bytes("assets", "demo/en_dub_ep01/v1/qa/report.json"))
    similar = [c for line in report["lines"] for c in line["checks"] if c["name"] == "speaker_similarity"]
    assert len(similar) == 6 and all(c["value"] is not None for c in similar), similar  # every voice has its clip
    heard = [c for line in report["lines"] for c in line["checks"] if c["name"] == "intelligibility"]
    assert len(heard) == 6 and all(c["unit"] == "WER" and c["value"] is not None for c in heard), heard
    assert len(list((tmp_path / "out" / "lines").glob("*.lines.parquet"))) == 1
    assert result.output.count("v1 published:") == 1
    listed = runner.invoke(app, ["catalog", "list"])
    assert listed.exit_code == 0 and "1 published version(s)" in listed.output and "en_dub_ep01" in listed.output
    # The cached re-run (no cluster, nothing uploaded) is checked on make demo's path: tests/dags/test_demo.py.


def test_installed_console_script_runs() -> None:
    exe = Path(sys.executable).with_name("dubflow")
    done = subprocess.run(
        [str(exe), "ingest", "-q", str(FIXTURES / "malformed" / "bad_json.json")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 1 and "bad-json" in done.stderr


def test_bad_config_and_bad_language_are_clear_errors_not_tracebacks(tmp_path: Path, write) -> None:
    missing = runner.invoke(app, ["ingest", "--config", str(tmp_path / "none.yaml"), str(SAMPLES / "zh_linesheet.csv")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    invalid = runner.invoke(app, ["demo", "--config", str(write("bad.yaml", "ingest:\n  overlap: maybe\n"))])
    assert invalid.exit_code == 2 and "ingest.overlap" in invalid.output
    bad_lang = runner.invoke(app, ["text", "hi", "--lang", "bad!"])
    assert bad_lang.exit_code == 2 and "not a language tag" in bad_lang.output


def test_voices_preview_writes_a_wav_and_refuses_what_the_voice_cannot_speak(tmp_path: Path) -> None:
    import soundfile as sf

    out = tmp_path / "joe.wav"
    result = runner.invoke(app, ["voices", "preview", "en-joe", "Hello there.", "--out", str(out), "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert sf.info(str(out)).samplerate == 22050 and sf.info(str(out)).duration > 0.3
    refused = runner.invoke(app, ["voices", "preview", "en-joe", "你好"])
    assert refused.exit_code == 1 and "voice en-joe speaks en, not zh" in refused.output
    unknown = runner.invoke(app, ["voices", "preview", "nobody", "hi"])
    assert unknown.exit_code == 1 and "unknown voice 'nobody'" in unknown.output


def test_a_batch_reports_every_file_on_its_own_and_sums_up(tmp_path: Path, write) -> None:
    """One file that cannot be read, one that is not what its name says, one empty, one fine: each is reported,
    a summary counts them, and nothing is a traceback."""
    good = write("good.srt", "1\n00:00:01,000 --> 00:00:02,000\nCaption text #3\n")
    files = [write("a.xlsx", b"not a zip"), write("b.vtt", "just words\n"), write("c.srt", b""), good, tmp_path]
    result = runner.invoke(app, ["ingest", "-q", *map(str, files)])
    assert result.exit_code == 1 and (result.exception is None or isinstance(result.exception, SystemExit))
    out = result.output
    assert f"{files[0]}: error: not a readable XLSX workbook" in out
    assert "[not-a-subtitle-file]" in out and "the file is empty [no-lines]" in out
    assert f"{good}:2: warning: '#3' not spelled out (kept as written) [normalize-failed]" in out
    assert f"✓ {good}: 1 lines (srt, utf-8), 1 warning(s)" in out
    assert f"{tmp_path}: error: is a folder, not a script file [unreadable]" in out
    assert "5 files: 1 ok, 4 with errors" in out
