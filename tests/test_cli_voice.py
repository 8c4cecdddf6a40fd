"""``dubflow voice``: the whole chain on any script, exit codes, --no-publish, a 100-line script."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from tests.conftest import FIXTURES, SAMPLES

runner = CliRunner()


@pytest.mark.timeout(900)
def test_a_hundred_line_script_without_publishing_keeps_its_delivery(
    tmp_path: Path, s3_env: dict[str, str], on_suite_cluster: None
) -> None:
    script = tmp_path / "long_sheet.csv"
    rows = [f"L{i:03d},This is line number {i} of the long sheet." for i in range(100)]
    script.write_text("line_id,text\n" + "\n".join(rows) + "\n")
    result = runner.invoke(
        app, ["voice", str(script), "--project", "demo", "--no-publish", "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert "packaged, not published" in result.output and "published:" not in result.output
    assert (tmp_path / "out" / "lines" / "long_sheet.lines.parquet").is_file()
    stems = list((tmp_path / "out" / "delivery" / "long_sheet").rglob("*.wav"))
    assert len(stems) >= 100  # one file per line (plus the stem)
    listed = runner.invoke(app, ["catalog", "list"])
    assert "long_sheet" not in listed.output  # nothing was published


def test_a_refused_script_fails_the_run_and_the_others_still_run(
    tmp_path: Path, s3_env: dict[str, str], on_suite_cluster: None
) -> None:
    good = SAMPLES / "zh_linesheet.csv"
    bad = FIXTURES / "malformed" / "bad_sheet.csv"
    result = runner.invoke(app, ["voice", str(bad), str(good), "--project", "demo", "--no-publish"])
    assert result.exit_code == 1, result.output
    assert "bad_sheet.csv: 6 error(s); not voiced" in result.output
    assert "zh_linesheet: packaged" in result.output


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["voice", str(tmp_path / "nope.srt")])
    assert missing.exit_code == 2
    assert runner.invoke(app, ["voice"]).exit_code == 2
