"""The review page in a real browser (Debian's chromium, driven by Playwright; Playwright's own browser download
is never used) against ``airflow standalone``: log in through Airflow, listen, reject a line with a note, and the
retake run that this queues publishes the next version with that line re-voiced and every other line unchanged.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest

from pipeline.storage.inbox import put_script
from pipeline.storage.store import ObjectStore
from tests.conftest import SAMPLES
from tests.e2e.conftest import PROJECT, Standalone, iso

DAG_ID = "dubflow_dubbing"
DAY = date(2026, 4, 7)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [pytest.mark.timeout(900)]


@pytest.fixture
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        pytest.skip("not checked: no chromium on this machine (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


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

    page.check(f'tr[data-line="{first}"] input[name=reject]')
    page.fill(f'input[name="note:{first}"]', "sounds rushed, slow down")
    page.click("button[type=submit]")
    page.wait_for_selector("#queued", timeout=60_000)
    retake_run = page.locator("#queued code").inner_text()
    assert retake_run.startswith("retake__review_ep02__v1__"), retake_run

    standalone.wait_for_runs(DAG_ID, [retake_run])
    v2 = json.loads(store.get_bytes("assets", f"{PROJECT}/review_ep02/v2/manifest.json"))
    assert v2["source"]["review"][first] == {"take": 1, "note": "sounds rushed, slow down", "reviewer": "admin",
                                             "from_version": 1}  # fmt: skip
    before = {line["line_id"]: line for line in v1["lines"]}
    after = {line["line_id"]: line for line in v2["lines"]}
    assert first in after or first in v2["source"]["quarantined"], "the rejected line was neither published nor held"
    if first in after:  # (a retake QA holds back is quarantined with its reasons, like any other line)
        assert after[first]["take"] == 1 and after[first]["sha256"] != before[first]["sha256"], "not a new take"
    for line_id, line in after.items():
        if line_id != first and line_id in before:
            assert line["take"] == 0 and line["sha256"] == before[line_id]["sha256"], line_id
    run = standalone.api("GET", f"/dags/{DAG_ID}/dagRuns/{quote(retake_run, safe='')}")
    assert run["triggering_user_name"] == "admin" and run["conf"]["retake"][first]["take"] == 1, run

    page.goto(f"{standalone.url}/dubflow/review/{DAG_ID}/{quote(retake_run, safe='')}")  # the retake's own review
    if first in after:
        assert "take 1" in page.locator(f'tr[data-line="{first}"]').inner_text()
