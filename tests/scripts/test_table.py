from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from pipeline.scripts.ingest import ingest_file, ingest_text
from pipeline.scripts.table import SCHEMA, TableError, read_lines, table_metadata, write_lines
from tests.conftest import SAMPLES

SCRIPTS = sorted(p.name for p in SAMPLES.iterdir() if p.is_file())  # samples/lexicon/ holds the demo's lexicon


@pytest.mark.parametrize("sample", SCRIPTS)
def test_every_sample_round_trips_through_parquet(sample: str, ingest_settings, tmp_path) -> None:
    result = ingest_file(SAMPLES / sample, ingest_settings)
    assert result.ok, result.problems
    path = write_lines(result, tmp_path / "out" / f"{result.script_id}.lines.parquet")
    assert read_lines(path) == list(result.lines)
    assert pq.read_schema(path).remove_metadata() == SCHEMA
    meta = table_metadata(path)
    assert meta["script_id"] == result.script_id and meta["source_sha256"] == result.source_sha256


def test_the_lexicon_entries_a_line_used_round_trip(ingest_settings, tmp_path) -> None:
    from dataclasses import replace

    from pipeline.lexicon.lines import with_lexicon
    from pipeline.lexicon.load import build

    result = ingest_file(SAMPLES / "narration_harbour.md", ingest_settings)
    lexicon = build([("demo.yaml", (SAMPLES / "lexicon" / "demo.yaml").read_bytes())])
    applied = replace(result, lines=tuple(with_lexicon(result.lines, lexicon)))
    used = [line.lexicon for line in applied.lines if line.lexicon]
    assert ("Maya → /M AY1 AH0/",) in used and ("长长 → chang2 chang2",) in used, used
    path = write_lines(applied, tmp_path / "n.lines.parquet")
    assert [line.lexicon for line in read_lines(path)] == [line.lexicon for line in applied.lines]


def test_a_result_with_errors_is_never_written(ingest_settings, tmp_path) -> None:
    result = ingest_text("text\n\n,\nok\n[pause:soon]\n", "s.csv", ingest_settings)
    assert not result.ok
    with pytest.raises(TableError, match="no lines table written"):
        write_lines(result, tmp_path / "s.parquet")
    assert list(tmp_path.iterdir()) == []


def test_samples_cover_both_languages_and_the_required_features(ingest_settings) -> None:
    results = {name: ingest_file(SAMPLES / name, ingest_settings) for name in SCRIPTS}
    srt, sheet, md = results["en_dub_ep01.srt"], results["zh_linesheet.csv"], results["narration_harbour.md"]
    assert {ln.lang for ln in results["ja_dub_ep01.srt"].lines} == {"ja"}
    assert len({ln.speaker for ln in srt.lines}) == 2 and {ln.lang for ln in srt.lines} == {"en"}
    assert any("[h][ào]" in ln.text for ln in sheet.lines) and all(ln.lang == "zh" for ln in sheet.lines)
    assert sum(1 for ln in sheet.lines if ln.style) >= 4
    assert len({ln.chapter for ln in md.lines}) == 2 and {ln.lang for ln in md.lines} == {"en", "zh"}
