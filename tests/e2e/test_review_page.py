"""The review page in a real browser (Debian's chromium, driven by Playwright; Playwright's own browser download
is never used) against ``airflow standalone``: log in through Airflow, listen, reject a line with a note, and the
retake run that this queues publishes the next version with that line re-voiced and every other line unchanged.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest

from pipeline.storage.inbox import put_script
from pipeline.storage.store import ObjectStore
from tests.conftest import SAMPLES, screenshot
from tests.e2e.conftest import PROJECT, Standalone, iso

DAG_ID = "dubflow_dubbing"
DAY = date(2026, 4, 7)
PROGRESS_DAY = date(2026, 4, 8)  # a run per logical date: the review test has DAY

pytestmark = [pytest.mark.timeout(900)]


def _script(tmp_path: Path) -> Path:
    cues = (SAMPLES / "en_dub_ep01.srt").read_text(encoding="utf-8").strip().split("\n\n")
    script = tmp_path / "review_ep02.srt"
    script.write_text("\n\n".join(cues[3:6]) + "\n", encoding="utf-8")
    return script


def test_a_reviewer_logs_in_listens_rejects_a_line_and_the_retake_is_published(
    standalone: Standalone, store: ObjectStore, browser, tmp_path: Path
) -> None:
    key = put_script(store, _script(tmp_path), PROJECT, DAY).key
    run_id = f"e2e-review-{uuid.uuid4().hex[:8]}"
    standalone.trigger(DAG_ID, run_id, {"project": PROJECT, "script_key": key}, iso(DAY))
    standalone.wait_for_runs(DAG_ID, [run_id])
    v1 = json.loads(store.get_bytes("assets", f"{PROJECT}/review_ep02/v1/manifest.json"))
    views = [v for p in standalone.api("GET", "/plugins")["plugins"] for v in p["external_views"]]
    assert any(v["destination"] == "dag_run" and v["href"].startswith("dubflow/review/") for v in views), views

    page = browser.new_page()
    review = f"{standalone.url}/dubflow/review/{DAG_ID}/{quote(run_id, safe='')}"
    page.goto(review)
    assert "/auth/login" in page.url, page.url  # no session: Airflow's login first
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", standalone.admin_password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{review}*", timeout=60_000)  # and straight back to the review page
    page.wait_for_selector("tr.line")
    screenshot(page, "review-page")

    rows = page.locator("tr.line")
    shown = [rows.nth(i).get_attribute("data-line") for i in range(rows.count())]
    assert {line["line_id"] for line in v1["lines"]} <= set(shown), shown
    # A Piper line: Piper's retake samples new noise (an espeak-ng retake is, by design, the same audio).
    chosen = next(line for line in v1["lines"] if line["engine"] == "piper")
    first = chosen["line_id"]
    player = page.locator(f'tr[data-line="{first}"] audio')
    # The browser really fetches and decodes the presigned clip: its duration is the published one.
    duration = player.evaluate("a => new Promise((ok, fail) => { a.onloadedmetadata = () => ok(a.duration);"
                               " a.onerror = () => fail(a.error && a.error.code); a.load(); })")  # fmt: skip
    assert abs(duration - chosen["duration"]) < 0.05, (duration, chosen["duration"])

    row = page.locator(f'tr.line[data-line="{first}"]')
    # The row says where the line sits and who speaks it, as the script has it.
    assert "#" in row.locator("td.where").inner_text() and row.locator(".speaker").count() == 1
    assert "piper" in row.locator(".who").inner_text() and chosen["voice"] in row.locator(".who").inner_text()
    page.check(f'tr[data-line="{first}"] input[name=reject]')
    page.fill(f'input[name="note:{first}"]', "sounds rushed, slow down")
    page.select_option(f'select[name="change:{first}"]', "style")  # what the retake changes: its style
    assert page.locator(f'input[name="style:{first}"]').is_visible()
    assert not page.locator(f'input[name="speed:{first}"]').is_visible()
    page.fill(f'input[name="style:{first}"]', "slowly")
    page.click("button.queue-retake")
    page.wait_for_selector("#queued", timeout=60_000)
    retake_run = page.locator("#queued code").inner_text()
    assert retake_run.startswith("retake__review_ep02__v1__"), retake_run

    standalone.wait_for_runs(DAG_ID, [retake_run])
    v2 = json.loads(store.get_bytes("assets", f"{PROJECT}/review_ep02/v2/manifest.json"))
    assert v2["source"]["review"][first] == {"take": 1, "note": "sounds rushed, slow down", "reviewer": "admin",
                                             "from_version": 1, "change": {"style": "slowly"}}  # fmt: skip
    before = {line["line_id"]: line for line in v1["lines"]}
    after = {line["line_id"]: line for line in v2["lines"]}
    assert first in after or first in v2["source"]["quarantined"], "the rejected line was neither published nor held"
    if first in after:  # (a retake QA holds back is quarantined with its reasons, like any other line)
        assert after[first]["take"] == 1 and after[first]["sha256"] != before[first]["sha256"], "not a new take"
        assert after[first]["style"] == "slowly", after[first]  # the change was applied, not only recorded
    for line_id, line in after.items():
        if line_id != first and line_id in before:
            assert line["take"] == 0 and line["sha256"] == before[line_id]["sha256"], line_id
    run = standalone.api("GET", f"/dags/{DAG_ID}/dagRuns/{quote(retake_run, safe='')}")
    assert run["triggering_user_name"] == "admin" and run["conf"]["retake"][first]["take"] == 1, run

    page.goto(f"{standalone.url}/dubflow/review/{DAG_ID}/{quote(retake_run, safe='')}")  # the retake's own review
    if first in after:
        row = page.locator(f'tr.line[data-line="{first}"]')
        assert "take 1" in row.inner_text()
        note = row.locator(".review-note").inner_text()  # the next version shows the note and what changed
        assert "sounds rushed, slow down" in note and "changed style → slowly" in note and "on v1" in note, note
        # A/B: the take it replaced (v1's file) and this one, both playable.
        a, b = row.locator("audio.previous"), row.locator("audio.current")
        load = "a => new Promise((ok, fail) => { a.onloadedmetadata = () => ok(a.duration); a.onerror = () => fail(1); a.load(); })"
        assert abs(a.evaluate(load) - before[first]["duration"]) < 0.05
        assert abs(b.evaluate(load) - after[first]["duration"]) < 0.05
        screenshot(page, "review-retake-ab")


def _long_script(tmp_path: Path, lines: int = 48) -> Path:
    """Distinct English lines (nothing cached), each in a roomy cue: a run long enough to watch."""
    cues = []
    for n in range(lines):
        start, end = 2 + n * 5, 6 + n * 5
        times = f"00:{start // 60:02d}:{start % 60:02d},000 --> 00:{end // 60:02d}:{end % 60:02d},000"
        cues.append(f"{n + 1}\n{times}\nLine {n + 1}: the harbour lights came on one by one.")
    script = tmp_path / "progress_ep.srt"
    script.write_text("\n\n".join(cues) + "\n", encoding="utf-8")
    return script


def test_the_review_tab_shows_the_progress_of_a_run_while_it_goes_on(
    standalone: Standalone, store: ObjectStore, browser, tmp_path: Path
) -> None:
    """Opened as soon as the run is triggered, while it voices a 48-line script: the progress view (fed by the task's progress object in
    staging, polled every 2 s) shows the stage and lines done moving, then the page turns into the review."""
    key = put_script(store, _long_script(tmp_path), PROJECT, PROGRESS_DAY).key
    run_id = f"e2e-progress-{uuid.uuid4().hex[:8]}"
    standalone.trigger(DAG_ID, run_id, {"project": PROJECT, "script_key": key}, iso(PROGRESS_DAY))
    page = browser.new_page()
    review = f"{standalone.url}/dubflow/review/{DAG_ID}/{quote(run_id, safe='')}"
    page.goto(review)
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", standalone.admin_password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{review}*", timeout=60_000)
    assert page.locator("#progress").count() == 1, page.content()[:2000]  # there before any script is voiced
    seen: list[tuple[str, int]] = []
    labels: set[str] = set()  # the mapped voicing task's name in Airflow's grid while it runs
    shot = False
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        row = page.locator("tr.script-progress")
        if row.count():
            if not labels:
                tis = standalone.api("GET", f"/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}/taskInstances")
                labels = {ti["rendered_map_index"] for ti in tis["task_instances"]
                          if ti["task_id"] == "voice_script" and ti["state"] == "running"}  # fmt: skip
            stage, done = row.locator(".stage").inner_text(), int(row.locator(".done").inner_text().split("/")[0])
            if not seen or seen[-1] != (stage, done):
                seen.append((stage, done))
            if not shot and stage in ("synthesize", "finish") and done > 0:
                screenshot(page, "review-progress")
                shot = True
        if page.locator("tr.line").count():  # the run finished: the page reloaded itself into the review
            break
        time.sleep(0.5)
    moving = [(stage, done) for stage, done in seen if stage in ("synthesize", "finish")]
    answer = standalone.client.get(f"/dubflow/review/{DAG_ID}/{quote(run_id, safe='')}/progress")
    why = f"{seen}; tasks {standalone.task_states(DAG_ID, run_id)}; progress {answer.status_code} {answer.text[:500]}"
    why += f"\npage: {page.url}\n{page.content()[:3000]}"
    assert len({done for _, done in moving}) >= 2, f"progress did not move while the run went on: {why}"
    assert any(stage == "finish" for stage, _ in seen), seen
    assert labels == {"progress_ep.srt"}, labels  # named by its script from the start, not "voice_script [0]"
    assert page.locator("tr.line").count() == 48, seen
    standalone.wait_for_runs(DAG_ID, [run_id])
