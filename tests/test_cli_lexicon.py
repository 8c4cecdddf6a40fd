"""``dubflow lexicon`` and ``dubflow text --project`` against the suite's S3 server."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app
from tests.conftest import FIXTURES

runner = CliRunner()
LEXICONS = FIXTURES / "lexicons"


def test_check_lists_every_problem_with_file_and_line_and_exits_1() -> None:
    bad = runner.invoke(app, ["lexicon", "check", str(LEXICONS / "broken.yaml"), str(LEXICONS / "entity_bomb.pls")])
    assert bad.exit_code == 1
    assert f"{LEXICONS / 'broken.yaml'}:4: error:" in bad.output and "entity_bomb.pls:2: error:" in bad.output
    good = runner.invoke(app, ["lexicon", "check", str(LEXICONS / "studio_en.pls"), str(LEXICONS / "studio_zh.pls")])
    assert good.exit_code == 0 and "6 entries, no problems" in good.output


def test_put_stores_with_the_project_and_text_shows_what_a_line_uses(s3_env: dict[str, str], tmp_path: Path) -> None:
    put = runner.invoke(app, ["lexicon", "put", str(LEXICONS / "studio_en.pls"), "--project", "demo"])
    assert put.exit_code == 0, put.output
    assert "/demo/lexicon/studio_en.pls (4 entries)" in put.output
    shown = runner.invoke(app, ["lexicon", "show", "--project", "demo"])
    assert "SQL → sequel  [en]  demo/lexicon/studio_en.pls:" in shown.output and "4 entries" in shown.output
    said = runner.invoke(app, ["text", "Ask Nguyen about SQL.", "--lang", "en", "--project", "demo"])
    assert said.exit_code == 0, said.output
    assert "canonical: Ask [N][W][IH1][N] about sequel." in said.output
    assert "lexicon:   Nguyen → /N W IH1 N/ (demo/lexicon/studio_en.pls:" in said.output

    # A second file may not give a word differently: refused, and the stored lexicon is unchanged.
    clash = tmp_path / "more.yaml"
    clash.write_text("words:\n  sql: squeal\n")
    refused = runner.invoke(app, ["lexicon", "put", str(clash), "--project", "demo"])
    assert refused.exit_code == 1 and "more.yaml:2: error: 'sql' is also given at" in refused.output
    assert "4 entries" in runner.invoke(app, ["lexicon", "show", "--project", "demo"]).output


def test_a_file_with_problems_or_a_bad_project_is_not_stored(s3_env: dict[str, str]) -> None:
    bad = runner.invoke(app, ["lexicon", "put", str(LEXICONS / "broken.yaml"), "--project", "demo"])
    assert bad.exit_code == 1 and "broken.yaml:5: error:" in bad.output
    assert "0 entries" in runner.invoke(app, ["lexicon", "show", "--project", "demo"]).output
    project = runner.invoke(app, ["lexicon", "put", str(LEXICONS / "studio_en.pls"), "--project", "../x"])
    assert project.exit_code == 1 and "Traceback" not in project.output
