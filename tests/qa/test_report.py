"""The QA reports: JSON and Parquet carry every check, and the HTML report is one offline, escaped file."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pyarrow.parquet as pq
import pytest

from pipeline.qa.report import PARQUET_SCHEMA, report_html, report_json, report_parquet, verdict_order
from pipeline.qa.results import Check, LineQa, ScriptQa
from tests.conftest import screenshot

RATE = 22050


def _sine(seconds: float = 1.0, freq: float = 220.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def qa() -> ScriptQa:
    passing = LineQa(
        line_id="L001", lang="en", text="Hello there.", verdict="pass",
        checks=[Check("loudness", "pass", -23.2, "LUFS", "-23.0 ± 1.0 LUFS")],
        duration_s=1.0, loudness=-23.2, true_peak=-3.1, engine="piper", voice="joe",
    )  # fmt: skip
    failing = LineQa(
        line_id="L002", lang="en", text="Run! <script>alert(1)</script> & go", verdict="fail",
        checks=[
            Check("true_peak", "fail", -0.2, "dBTP", "≤ -1.0 dBTP", "limiter could not hold the ceiling"),
            Check("intelligibility", "not-checked", None, "", "WER ≤ 0.2", "no ASR model for this language"),
        ],
        attempts=3, quarantined=True, reasons=["true_peak"], duration_s=1.0, true_peak=-0.2, stretch=1.08,
    )  # fmt: skip
    warning = LineQa(
        line_id="L003", lang="zh", text="你好，世界。", verdict="warn",
        checks=[Check("loudness", "warn", -25.0, "LUFS", "-23.0 ± 1.0 LUFS")], attempts=2,
    )  # fmt: skip
    return ScriptQa(
        project="demo", script_id="ep01", profile="broadcast",
        lines=[passing, failing, warning],
        script_checks=[Check("coverage", "pass", 1.0, "", "= 1.0")],
    )  # fmt: skip


@pytest.fixture
def audio() -> dict[str, tuple[np.ndarray, int]]:
    return {"L001": (_sine(), RATE), "L002": (_sine(freq=440.0, amp=0.9), RATE)}


def test_verdict_order_puts_failures_then_warnings_first(qa: ScriptQa) -> None:
    ordered = [line.line_id for line in sorted(qa.lines, key=verdict_order)]
    assert ordered == ["L002", "L003", "L001"]


def test_json_round_trips_with_counts(qa: ScriptQa) -> None:
    raw = report_json(qa)
    assert "你好".encode() in raw  # ensure_ascii=False
    data = json.loads(raw.decode("utf-8"))
    assert data == json.loads(json.dumps(qa.to_dict()))
    assert data["counts"] == {"pass": 1, "warn": 1, "fail": 1, "not-checked": 0, "quarantined": 1, "retried": 2}
    assert [line["line_id"] for line in data["lines"]] == ["L001", "L002", "L003"]
    assert data["lines"][1]["checks"][0]["value"] == pytest.approx(-0.2)


def test_parquet_has_one_row_per_check(qa: ScriptQa) -> None:
    table = pq.read_table(io.BytesIO(report_parquet(qa)))
    assert table.schema.equals(PARQUET_SCHEMA)
    assert table.num_rows == 4
    rows = table.to_pylist()
    assert [(r["line_id"], r["check"], r["verdict"]) for r in rows] == [
        ("L001", "loudness", "pass"),
        ("L002", "true_peak", "fail"),
        ("L002", "intelligibility", "not-checked"),
        ("L003", "loudness", "warn"),
    ]
    assert rows[1]["line_verdict"] == "fail" and rows[1]["quarantined"] is True and rows[1]["attempts"] == 3
    assert rows[2]["value"] is None
    assert rows[0]["value"] == pytest.approx(-23.2)
    assert {r["project"] for r in rows} == {"demo"}
    metadata = pq.ParquetFile(io.BytesIO(report_parquet(qa))).metadata
    assert metadata.row_group(0).column(0).compression == "ZSTD"


def test_html_is_self_contained_and_ordered(qa: ScriptQa, audio: dict[str, tuple[np.ndarray, int]]) -> None:
    page = report_html(qa, audio)
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?!data:|#)[a-z]+:""", page, re.IGNORECASE)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert page.count("<audio") == len(audio)
    assert page.count("data:image/svg+xml;base64,") == len(audio)
    assert "data:audio/mpeg;base64," in page
    assert page.index('id="line-L002"') < page.index('id="line-L003"') < page.index('id="line-L001"')
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; go" in page
    assert page.count("<script>") == 1  # only the filter
    assert "demo" in page and "ep01" in page and "broadcast" in page and "coverage" in page
    assert "你好，世界。" in page

    for mp3_b64 in re.findall(r"data:audio/mpeg;base64,([A-Za-z0-9+/=]+)", page):
        mp3 = base64.b64decode(mp3_b64, validate=True)
        assert len(mp3) > 1000
        assert mp3[:3] == b"ID3" or (mp3[0] == 0xFF and mp3[1] & 0xE0 == 0xE0)  # MPEG frame sync
    for svg_b64 in re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", page):
        plot = ElementTree.fromstring(base64.b64decode(svg_b64, validate=True))  # well-formed SVG
        assert plot.tag == "{http://www.w3.org/2000/svg}svg"
        envelope = plot.find("{http://www.w3.org/2000/svg}polygon")
        assert envelope is not None and len(envelope.get("points", "").split()) > 100  # a waveform, not a box


def test_mp3_preview_is_cbr_at_requested_rate(qa: ScriptQa, audio: dict[str, tuple[np.ndarray, int]]) -> None:
    low = report_html(qa, {"L001": audio["L001"]}, preview_kbps=32)
    high = report_html(qa, {"L001": audio["L001"]}, preview_kbps=128)

    def mp3_size(page: str) -> int:
        (b64,) = re.findall(r"data:audio/mpeg;base64,([A-Za-z0-9+/=]+)", page)
        return len(base64.b64decode(b64))

    # ~1 s of audio: about kbps * 125 bytes, so 4x the bit rate is roughly 4x the size.
    assert 2.5 < mp3_size(high) / mp3_size(low) < 5.5
    assert 3000 < mp3_size(low) < 7000


def test_html_without_audio_has_no_media(qa: ScriptQa) -> None:
    page = report_html(qa)
    assert "<audio" not in page and "data:image/svg" not in page
    assert page.count('class="card ') == 3


def test_the_report_renders_in_a_real_browser(
    qa: ScriptQa, audio: dict[str, tuple[np.ndarray, int]], tmp_path: Path, browser: Any
) -> None:
    """The file opened in chromium: every plot decodes and paints at its size, every player knows its clip's length,
    the filter hides passing lines; the screenshot is kept for a person to look at (DUBFLOW_SCREENSHOTS)."""
    html_path = tmp_path / "report.html"
    html_path.write_text(report_html(qa, audio), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    try:
        page.goto(html_path.as_uri())
        sizes = page.eval_on_selector_all(".media img", "els => els.map(e => [e.complete, e.naturalWidth])")
        assert sizes == [[True, 480]] * len(audio)
        page.wait_for_function("[...document.querySelectorAll('audio')].every(a => a.duration > 0)")
        screenshot(page, "qa-report")
        page.click('button[data-f="fail"]')
        shown = "els => els.filter(e => e.offsetParent !== null).length"
        assert page.eval_on_selector_all(".card", shown) == qa.counts()["fail"]
    finally:
        page.close()


def test_a_line_short_of_its_slot_says_so_and_passing_checks_fold_away() -> None:
    """ "−542.00 ms over" read as an overrun: a negative overrun is a line short of its slot. A card lists the
    checks that need a look, measured against what was wanted; the passing ones fold under one summary."""
    from pipeline.scripts.model import Line

    short = Check("duration_vs_cue", "pass", -542, "ms over", "≤ 120 ms over the cue")
    assert short.measured() == "542 ms short of the slot"
    assert Check("duration_vs_cue", "warn", 180, "ms over", "≤ 120 ms").measured() == "180 ms over the slot"
    heard = Check("intelligibility", "fail", 0.5, "WER", "≤ 0.15 (fail > 0.35)", "heard 'the harbor'")
    assert heard.summary() == "intelligibility 0.5 WER, wanted ≤ 0.15 (fail > 0.35): heard 'the harbor'"
    assert Check("speaker_similarity", "not-checked").measured() == "—"

    line = Line(script_id="ep01", line_id="L9", index=12, source_line=40, text="Hi.", spoken_text="Hi.",
                text_hash="x", lang="en", speaker="MAYA", start=13.12, end=15.52)  # fmt: skip
    checks = [short, heard, *(Check(f"edge_{n}", "pass", 3, "ms", "≤ 50 ms") for n in range(10))]
    qa = ScriptQa("demo", "ep01", "broadcast", [LineQa("L9", "en", "Hi.", "fail", checks, line=line)])
    page = report_html(qa, programme=["stems/en.wav"])
    card = page[page.index('id="line-L9"') :]
    flagged, folded = card.split('<details class="passing">', 1)
    assert "intelligibility" in flagged and "0.5 WER" in flagged and "edge_3" not in flagged
    assert "<summary>11 passing</summary>" in folded and "542 ms short of the slot" in folded
    assert "#13" in card and "MAYA" in card and "00:13.120–00:15.520" in card  # cue, speaker, slot
    assert '<audio controls preload="metadata" src="../stems/en.wav">' in page  # the whole stem
    assert 'id="published"' in page and "project demo · script ep01 · profile broadcast" in page
    assert {"cue": 13, "speaker": "MAYA", "slot_start_s": 13.12}.items() <= json.loads(report_json(qa))["lines"][
        0
    ].items()
