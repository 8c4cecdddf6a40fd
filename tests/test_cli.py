"""The ``dubflow`` command as a user runs it: exit codes, every problem listed, tables written or not."""

from __future__ import annotations

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
    "bad_timing.srt": [(6, "bad-timing"), (10, "end-before-start"), (14, "out-of-order"), (18, "missing-text")],
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
    "bad_lines.jsonl": [(2, "bad-json"), (3, "bad-json"), (4, "bad-field"), (4, "missing-text"), (5, "missing-text")],
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
    result = runner.invoke(app, ["ingest", "--out", str(tmp_path), *map(str, sorted(SAMPLES.iterdir()))])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["en_dub_ep01.lines.parquet", "narration_harbour.lines.parquet", "zh_linesheet.lines.parquet"]
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


def test_demo_ingests_all_samples(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "lines").glob("*.lines.parquet"))) == 3


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
