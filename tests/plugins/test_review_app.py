"""The review page on a real Airflow API server (uvicorn in this process, SQLite, simple auth manager) over a
real ``dag.test()`` run that voiced a script into the suite's S3 server. No scheduler runs here: a queued retake
is checked in Airflow's database; tests/e2e/test_review_page.py drives the whole loop in Chromium.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from html import unescape
from pathlib import Path
from urllib.parse import quote, unquote

import httpx
import pytest

from pipeline.settings import load_settings
from pipeline.storage.inbox import put_script
from pipeline.storage.store import ObjectStore
from tests.conftest import REPO, SAMPLES, remove_env_buckets, s3_env_vars, screenshot, suite_cluster_env

DAY = date(2026, 10, 5)
DAG_ID = "dubflow_dubbing"
USERS = "admin:admin,viewer:viewer"


@dataclass
class Server:
    url: str
    run_id: str
    store: ObjectStore
    tokens: dict[str, str]

    def client(self, user: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, follow_redirects=False)

    @property
    def page(self) -> str:
        return f"/dubflow/review/{DAG_ID}/{quote(self.run_id, safe='')}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(airflow_home: Path, s3_settings, local_s3_server, tmp_path_factory, dask_client) -> Iterator[Server]:
    import uvicorn

    port = _free_port()
    url, env = f"http://127.0.0.1:{port}", s3_env_vars(s3_settings)
    with pytest.MonkeyPatch.context() as patch:
        airflow = {"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": USERS, "AIRFLOW__API__BASE_URL": url}
        for key, value in {**env, **airflow, **suite_cluster_env(dask_client)}.items():
            patch.setenv(key, value)
        store = ObjectStore.from_settings(load_settings().storage)
        store.ensure_buckets()
        cues = (SAMPLES / "en_dub_ep01.srt").read_text(encoding="utf-8").strip().split("\n\n")
        script = tmp_path_factory.mktemp("review") / "review_ep.srt"
        script.write_text("\n\n".join(cues[:3]) + "\n", encoding="utf-8")
        key = put_script(store, script, "demo", DAY).key
        midnight = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
        run = _dag(DAG_ID).test(logical_date=midnight, run_conf={"project": "demo", "script_key": key})
        states = {f"{ti.task_id}[{ti.map_index}]": str(ti.state) for ti in run.get_task_instances()}
        assert set(states.values()) == {"success"}, states

        from airflow.api_fastapi.app import create_app

        uv = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=uv.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not uv.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert uv.started, "the API server did not start"
        try:
            passwords = json.loads((airflow_home / "simple_auth_manager_passwords.json.generated").read_text())
            tokens = {}
            for user in ("admin", "viewer"):
                login = {"username": user, "password": passwords[user]}
                answer = httpx.post(f"{url}/auth/token", timeout=30, json=login)
                assert answer.status_code == 201, answer.text
                tokens[user] = answer.json()["access_token"]
            yield Server(url, run.run_id, store, tokens)
        finally:
            uv.should_exit = True
            thread.join(timeout=30)
    if local_s3_server is None:
        remove_env_buckets(s3_settings, env)


def _dag(dag_id: str):
    from airflow.models import DagBag

    return DagBag(dag_folder=str(REPO / "dags")).get_dag(dag_id)


def _manifest(server: Server) -> dict:
    return json.loads(server.store.get_bytes("assets", "demo/review_ep/v1/manifest.json"))


def test_without_a_login_the_page_sends_the_browser_to_airflows_login(server: Server) -> None:
    with server.client(None) as client:
        answer = client.get(server.page)
        assert answer.status_code == 303 and "/auth/login" in answer.headers["location"], answer.text
        back = httpx.URL(answer.headers["location"]).params["next"]  # and comes back here after logging in
        assert unquote(back) == unquote(server.url + server.page), back
        forged = client.get(server.page, headers={"Authorization": "Bearer not-a-token"})
        assert forged.status_code in (401, 403) and "review_ep" not in forged.text
        posted = client.post(server.page + "/retake", data={"script": "0", "reject": "x"})
        assert posted.status_code == 401


def test_the_page_lists_the_scripts_lines_verdicts_and_playable_clips(server: Server) -> None:
    with server.client("viewer") as client:
        answer = client.get(server.page)
    assert answer.status_code == 200, answer.text[:2000]
    html = answer.text
    manifest = _manifest(server)
    assert "review_ep.srt" in html and "v1" in html and manifest["source"]["profile"] in html
    for line in manifest["lines"]:
        assert f'data-line="{line["line_id"]}"' in html and line["qa_verdict"] in html
    rows = {m.group(1): m.group(2) for m in re.finditer(r'<tr class="line" data-line="([^"]+)">(.*?)</tr>', html, re.S)}
    report_json = json.loads(server.store.get_bytes("assets", "demo/review_ep/v1/qa/report.json"))
    assert set(rows) == {line["line_id"] for line in report_json["lines"]}  # quarantined lines are shown too
    for line in manifest["lines"]:  # each published line plays exactly its published file
        src = unescape(
            re.search(r'<audio controls preload="metadata" class="current" src="([^"]+)"', rows[line["line_id"]]).group(
                1
            )
        )
        with urllib.request.urlopen(src, timeout=30) as response:
            assert response.read() == server.store.get_bytes("assets", line["key"])
    for line in report_json["lines"]:
        if line["quarantined"]:  # held back with its reasons, playable from staging
            row = rows[line["line_id"]]
            assert "quarantined" in row and all(unescape(reason) in unescape(row) for reason in line["reasons"])
            src = unescape(re.search(r'src="([^"]+)"', row).group(1))
            assert server.store.bucket("staging") in src
            with urllib.request.urlopen(src, timeout=30) as response:
                assert response.read() == server.store.get_bytes("staging", line["key"])
    # The QA report's link is the plugin's own (behind the login, never expiring), with the version in its header.
    report = unescape(re.search(r'href="([^"]+)"[^>]*class="report"', html).group(1))
    assert "X-Amz" not in report and report.endswith("/dubflow/report/demo/review_ep/v1/qa/report.html"), report
    with server.client("viewer") as client:
        page = client.get(str(httpx.URL(server.url + server.page).join(report)))
        assert page.status_code == 200 and "review_ep" in page.text, page.text[:500]
        header = unescape(re.search(r'<p class="published" id="published">(.*?)</p>', page.text).group(1))
        assert header.startswith("v1 · project demo · script review_ep · profile broadcast · run "), header
        assert server.run_id in header and "published 20" in header, header
        ext = manifest["lines"][0]["name"].rsplit(".", 1)[1]
        stem = client.get(f"/dubflow/report/demo/review_ep/v1/stems/en.{ext}")  # S3 serves it, with ranges
        assert stem.status_code == 307 and "X-Amz-Signature=" in stem.headers["location"], stem.text[:300]
        with urllib.request.urlopen(stem.headers["location"], timeout=30) as response:
            assert response.read() == server.store.get_bytes("assets", f"demo/review_ep/v1/stems/en.{ext}")
        assert 'src="../stems/en.' in page.text  # the report's own stem player plays exactly that file
        assert client.get("/dubflow/report/demo/review_ep/v1/manifest.json").status_code == 404  # only listed files
        sneaky = "/dubflow/report/demo/review_ep/v1/%2e%2e/%2e%2e/%2e%2e/catalog/x.parquet"  # sent as written
        assert client.get(sneaky).status_code == 404
        assert client.get("/dubflow/report/demo/review_ep/v1/qa/nothing.html").status_code == 404
    with server.client(None) as anonymous:
        assert anonymous.get(report.replace("../../../", "/")).status_code in (303, 401)


def test_a_run_that_failed_before_voicing_shows_why(server: Server) -> None:
    """A mistyped key: the Review tab says which task failed and its message, not "This run voiced no scripts"."""
    key = f"demo/{DAY}/review_eq.srt"
    run = _dag(DAG_ID).test(logical_date=datetime(DAY.year, DAY.month, DAY.day, 7, tzinfo=UTC),
                            run_conf={"project": "demo", "script_key": key})  # fmt: skip
    assert str(run.state) == "failed"
    with server.client("viewer") as client:
        html = unescape(client.get(f"/dubflow/review/{DAG_ID}/{quote(run.run_id, safe='')}").text)
    html = re.sub(r"<[^>]+>", "", html)  # the words a person reads
    assert "This run failed in discover:" in html and f"script '{key}' is not in the inbox" in html, html[-3000:]
    assert "This run voiced no scripts" not in html


def test_the_voicing_tasks_result_is_one_readable_xcom(server: Server) -> None:
    """What Airflow's XCom tab asks for (deserialize, not stringify): the whole result as an object, and no XCom
    per key of it (TaskFlow's default for a task returning a dict, which the tab showed as empty values)."""
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(server.run_id, safe='')}/taskInstances/voice_script/xcomEntries"
    with server.client("viewer") as client:
        keys = {e["key"] for e in client.get(path, params={"map_index": 0}).json()["xcom_entries"]}
        entry = client.get(f"{path}/return_value", params={"map_index": 0, "deserialize": True, "stringify": False})
    assert keys == {"return_value"}, keys
    value = entry.json()["value"]
    assert value["version"] == 1 and value["manifest"].endswith("/review_ep/v1/manifest.json"), value
    assert value["qa"] and all(isinstance(n, int) for n in value["qa"].values()), value


def test_an_unknown_run_is_404(server: Server) -> None:
    with server.client("viewer") as client:
        assert client.get(f"/dubflow/review/{DAG_ID}/no-such-run").status_code == 404


def test_a_viewer_may_read_but_not_queue_a_retake(server: Server) -> None:
    line = _manifest(server)["lines"][0]["line_id"]
    with server.client("viewer") as client:
        answer = client.post(server.page + "/retake", data={"script": "0", "reject": line})
    assert answer.status_code == 403, answer.text
    assert not _retake_runs(server)


def test_a_cross_site_form_post_is_refused(server: Server) -> None:
    line = _manifest(server)["lines"][0]["line_id"]
    with server.client("admin") as client:
        form = {"script": "0", "reject": line}
        answer = client.post(server.page + "/retake", data=form, headers={"Origin": "http://evil.example"})
    assert answer.status_code == 403 and "cross-site" in answer.text
    assert not _retake_runs(server)


def test_rejecting_lines_queues_one_retake_run_with_takes_notes_and_reviewer(server: Server) -> None:
    lines = [entry["line_id"] for entry in _manifest(server)["lines"]][:2]
    form = {"script": "0", "reject": lines, f"note:{lines[0]}": "too fast", f"note:{lines[1]}": "wrong name"}
    with server.client("admin") as client:
        answer = client.post(server.page + "/retake", data=form, headers={"Origin": server.url})
        assert answer.status_code == 303, answer.text
        queued = re.search(r"queued=([^&]+)", answer.headers["location"])
        assert queued, answer.headers["location"]
        again = client.post(server.page + "/retake", data=form, headers={"Origin": server.url})  # a double click
        assert again.headers["location"] == answer.headers["location"]
        bad = client.post(server.page + "/retake", data={"script": "0", "reject": "review_ep-9999"})
        assert (
            "error=" in bad.headers["location"]
            and "review_ep-9999" in httpx.URL(bad.headers["location"]).params["error"]
        )
    runs = _retake_runs(server)
    assert len(runs) == 1, runs
    run = runs[0]
    assert run["dag_run_id"] == httpx.URL("?" + answer.headers["location"].split("?", 1)[1]).params["queued"]
    assert run["conf"]["script_key"] == f"demo/{DAY}/review_ep.srt" and run["conf"]["project"] == "demo"
    assert run["conf"]["retake"] == {
        lines[0]: {"take": 1, "note": "too fast", "reviewer": "admin", "from_version": 1},
        lines[1]: {"take": 1, "note": "wrong name", "reviewer": "admin", "from_version": 1},
    }
    assert run["triggering_user_name"] == "admin" and run["state"] == "queued"


def _retake_runs(server: Server) -> list[dict]:
    with server.client("admin") as client:
        runs = client.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={"limit": 100}).json()["dag_runs"]
    return [run for run in runs if run["dag_run_id"].startswith("retake__review_ep")]


def test_while_the_run_goes_on_the_page_shows_its_progress(server: Server, browser) -> None:
    """The voicing task marked running and its progress object in staging: the page shows the progress view (not
    the lines), the JSON endpoint answers the object, and in chromium the view fills itself from it."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    from pipeline.progress import ProgressRecorder

    def set_state(state: TaskInstanceState) -> None:
        with create_session() as session:
            ours = {"dag_id": DAG_ID, "run_id": server.run_id, "task_id": "voice_script"}
            for ti in session.query(TaskInstance).filter_by(**ours):
                ti.state = state

    recorder = ProgressRecorder(server.store, server.run_id, "review_ep.srt")
    recorder.progress.stage, recorder.progress.total, recorder.progress.synthesized = "synthesize", 3, 2
    recorder._write()
    set_state(TaskInstanceState.RUNNING)
    try:
        with server.client("viewer") as client:
            html = client.get(server.page).text
            answer = client.get(server.page + "/progress")
        assert 'data-running="yes"' in html and 'class="line"' not in html, html[:3000]
        assert answer.status_code == 200 and [p["done"] for p in answer.json()["scripts"]] == [2], answer.text
        page = browser.new_context(extra_http_headers={"Authorization": f"Bearer {server.tokens['viewer']}"}).new_page()
        page.goto(server.url + server.page)
        page.wait_for_selector("tr.script-progress", timeout=15_000)
        assert page.locator("tr.script-progress .done").inner_text() == "2 / 3"
        assert page.locator("tr.script-progress .stage").inner_text() == "synthesize"
        screenshot(page, "review-progress-view")
    finally:
        set_state(TaskInstanceState.SUCCESS)


def test_the_audition_panel_plays_any_catalog_voice_on_a_sentence(server: Server, browser) -> None:
    """Cast before a run: in chromium, a voice chosen in the panel says the sentence (WAV from the API server); a
    voice that cannot speak the language is refused with the reason on the page; a reader must be logged in."""
    import io

    import soundfile as sf

    with server.client("viewer") as client:
        answer = client.get(f"/dubflow/audition/{DAG_ID}", params={"voice": "ja-kumo", "text": "駅まで歩こう。"})
        assert answer.status_code == 200 and answer.headers["content-type"] == "audio/wav", answer.text[:500]
        clip, rate = sf.read(io.BytesIO(answer.content))
        assert rate == 24000 and 0.5 < len(clip) / rate < 5
        refused = client.get(f"/dubflow/audition/{DAG_ID}", params={"voice": "en-joe", "text": "你好"})
        assert refused.status_code == 422 and "speaks en, not zh" in refused.json()["detail"]
        long = client.get(f"/dubflow/audition/{DAG_ID}", params={"voice": "en-joe", "text": "a" * 301})
        assert long.status_code == 422 and "at most 300" in long.json()["detail"]
    with server.client(None) as anonymous:
        assert anonymous.get(f"/dubflow/audition/{DAG_ID}", params={"voice": "en-joe", "text": "Hi."}).status_code in (
            401, 303)  # fmt: skip

    page = browser.new_context(extra_http_headers={"Authorization": f"Bearer {server.tokens['viewer']}"}).new_page()
    page.goto(server.url + server.page)
    page.locator("#audition-panel summary").click()
    options = page.locator("#audition select[name=voice] option").all_inner_texts()
    assert any(o.startswith("ja-haruka · ja/en") for o in options), options
    page.select_option("#audition select[name=voice]", "ja-haruka")
    page.fill("#audition input[name=text]", "今日はとても良い天気ですね。")
    page.click("#audition button")
    page.wait_for_function("document.getElementById('audition-player').duration > 0.5", timeout=60_000)
    screenshot(page, "review-audition")
    page.select_option("#audition select[name=voice]", "en-joe")
    page.fill("#audition input[name=text]", "你好")
    page.click("#audition button")
    page.wait_for_function("document.getElementById('audition-error').textContent.length > 0", timeout=30_000)
    assert "speaks en, not zh" in page.locator("#audition-error").inner_text()


def test_a_reviewer_hears_a_voices_reference_and_corrects_its_transcript(server: Server, browser) -> None:
    """The voice-references panel: an enrolled clip with Whisper's transcript is shown first and open, playable; a
    reviewer saves the right words and the voice's record says who did; a viewer may not; another site may not."""
    from pipeline.enrollment.enroll import enroll_clip
    from pipeline.enrollment.record import load_enrollment
    from pipeline.qa.models import default_asr_models
    from pipeline.settings import Settings
    from pipeline.voices.catalog import load_catalog

    catalog = load_catalog(REPO / "configs" / "voices.yaml")
    voice = catalog.voice("en-clone")
    asr = default_asr_models(Settings().qa.model_cache)
    whisper = enroll_clip(server.store, voice, catalog.reference_path(voice), asr, voice.reference)
    assert not whisper.confirmed

    form = {"voice": "en-clone", "text": "Words.", "clip": whisper.clip_sha256, "dag": DAG_ID, "run": server.run_id}
    with server.client("viewer") as viewer:
        assert viewer.post("/dubflow/voices/transcript", data=form).status_code == 403
    with server.client("admin") as admin:
        foreign = admin.post("/dubflow/voices/transcript", data=form, headers={"Origin": "http://evil.test"})
        assert foreign.status_code == 403
    assert load_enrollment(server.store, "en-clone") == whisper

    page = browser.new_context(extra_http_headers={"Authorization": f"Bearer {server.tokens['admin']}"}).new_page()
    page.goto(server.url + server.page)
    panel = page.locator("#voices-panel")
    assert panel.get_attribute("open") is not None  # an unconfirmed transcript opens it
    row = page.locator("#voice-en-clone")
    assert "Whisper, unconfirmed" in row.inner_text()
    page.evaluate("document.querySelector('#voice-en-clone audio').load()")  # preload=none: fetch it now
    page.wait_for_function("document.querySelector('#voice-en-clone audio').duration > 10", timeout=30_000)
    screenshot(page, "review-voices")
    row.locator("textarea").fill("And then later on, fully acquiring that company.")
    row.locator("button").click()
    page.wait_for_selector("#saved", timeout=30_000)
    assert "en-clone: the transcript is now 'And then later on, fully acquiring that company.'" in page.inner_text(
        "#saved"
    )
    record = load_enrollment(server.store, "en-clone")
    assert record.transcript == "And then later on, fully acquiring that company." and record.corrected_by == "admin"
    assert record.previous_transcript == whisper.transcript
    assert "by admin" in page.locator("#voice-en-clone").text_content()  # confirmed now: the panel starts closed
    assert page.locator("#voices-panel").get_attribute("open") is None


# -- the Voice scripts tab: pick inbox scripts, one run each ------------------------------------------------------


def _runs(server: Server, script_key: str) -> list[dict]:
    """The runs triggered for one script (by its key in the conf)."""
    with server.client("admin") as client:
        runs = client.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={"limit": 100}).json()["dag_runs"]
    return [run for run in runs if (run.get("conf") or {}).get("script_key") == script_key]


def _is_paused(server: Server) -> bool:
    with server.client("admin") as client:
        return client.get(f"/api/v2/dags/{DAG_ID}").json()["is_paused"]


def test_the_voice_scripts_tab_offers_the_inbox_and_queues_one_run_per_picked_script(
    server: Server, browser, tmp_path: Path
) -> None:
    """In chromium: today's dubbing script is offered (the narration one is not: it is the other DAG's), the engine
    reads "each voice's own engine" (not "null"), force says it makes a new version; picking the script with force
    and a recast queues one run with exactly that conf, as the signed-in user, and opens its Review tab. The DAG's
    pause state is left as it was."""
    script, other = tmp_path / "pick_me_ep.srt", tmp_path / "not_here.md"
    script.write_text((SAMPLES / "en_dub_ep01.srt").read_text(encoding="utf-8"), encoding="utf-8")
    other.write_text("# Chapter 1\n\nThe harbour lights came on.\n", encoding="utf-8")
    key = put_script(server.store, script, "demo").key  # today's folder
    put_script(server.store, other, "demo")
    paused = _is_paused(server)

    page = browser.new_context(extra_http_headers={"Authorization": f"Bearer {server.tokens['admin']}"}).new_page()
    page.goto(f"{server.url}/dubflow/trigger/{DAG_ID}?project=demo")
    offered = page.locator("tr.script").evaluate_all("rows => rows.map(r => r.dataset.key)")
    assert key in offered and not any(k.endswith("not_here.md") for k in offered), offered
    assert f"demo/{DAY}/review_ep.srt" not in offered  # arrived long before the last 7 days
    assert page.locator("#engine option").first.inner_text() == "each voice's own engine"
    assert "null" not in page.locator("#engine").inner_text()
    assert "new version" in page.locator("#voice fieldset").inner_text()
    assert (page.locator("#paused").count() == 1) == paused
    page.check(f'tr.script[data-key="{key}"] input[type=checkbox]')
    page.check("#force")
    page.fill("#voices", "THEO = en-joe")
    screenshot(page, "trigger-voice-scripts")
    page.click("#submit")
    page.wait_for_selector("#started", timeout=30_000)
    assert "/dubflow/review/dubflow_dubbing/manual__" in page.url and "pick_me_ep.srt" in page.url

    (run,) = _runs(server, key)
    assert run["conf"] == {"project": "demo", "script_key": key, "profile": "broadcast", "force": True,
                           "dry_run": False, "voices": {"THEO": "en-joe"}}  # fmt: skip
    assert run["triggering_user_name"] == "admin" and run["state"] == "queued" and run["note"] == "voiced by hand"
    assert _is_paused(server) == paused
    # The same submission again (a double click) is the same run, not a second one.
    page.goto(f"{server.url}/dubflow/trigger/{DAG_ID}?project=demo")
    page.check(f'tr.script[data-key="{key}"] input[type=checkbox]')
    page.check("#force")
    page.fill("#voices", "THEO = en-joe")
    page.click("#submit")
    page.wait_for_selector("#started", timeout=30_000)
    assert len(_runs(server, key)) == 1


def test_the_voice_scripts_tab_names_the_field_at_fault(server: Server) -> None:
    """Airflow's own form answers a bad key with "Bad Request"; this page names the field, and a viewer may look
    but not queue."""
    page = f"/dubflow/trigger/{DAG_ID}"
    with server.client("admin") as client:
        origin = {"Origin": server.url}

        def error_of(form: dict) -> str:
            answer = client.post(page, data={"project": "demo", **form}, headers=origin)
            assert answer.status_code == 303, answer.text
            return httpx.URL(answer.headers["location"]).params["error"]

        assert error_of({}) == "script: pick at least one script from the inbox"
        bad = error_of({"script": "demo/2026-12-01/x.srt", "voices": "THEO = en-joe\nMAYA en-espeak"})
        assert bad.startswith("voices, line 2:") and "SPEAKER = voice-id" in bad, bad
        refused = error_of({"script": "demo/yesterday/Bad Key.srt"})  # Airflow checks the key's pattern
        assert refused.startswith("demo/yesterday/Bad Key.srt: script_key: ") and "does not match" in refused, refused
        listed = client.get(page, params={"project": "no such/project"})
        assert listed.status_code == 200 and "project: " in unescape(listed.text)
        assert client.get("/dubflow/trigger/dubflow_voice_enrollment").status_code == 404  # not a voicing DAG
    with server.client("viewer") as viewer:
        assert viewer.get(page, params={"project": "demo"}).status_code == 200
        assert viewer.post(page, data={"project": "demo", "script": "demo/2026-12-01/x.srt"}).status_code == 403
    assert not _runs(server, "demo/yesterday/Bad Key.srt") and not _runs(server, "demo/2026-12-01/x.srt")


def test_each_line_shows_its_context_and_the_page_filters_by_verdict_speaker_and_engine(
    server: Server, browser
) -> None:
    """In chromium: cue number, slot timecode, speaker, voice and engine per line, the flagged checks as measured
    vs wanted, players that know their duration before a click; the verdict and speaker filters keep only matching
    lines; the retake row shows only the field its change needs, and what a speed would do to the slot."""
    report = json.loads(server.store.get_bytes("assets", "demo/review_ep/v1/qa/report.json"))
    page = browser.new_context(extra_http_headers={"Authorization": f"Bearer {server.tokens['admin']}"}).new_page()
    page.set_viewport_size({"width": 1100, "height": 900})  # about the Airflow tab's width on a laptop
    page.goto(server.url + server.page)
    for line in report["lines"]:
        row = page.locator(f'tr.line[data-line="{line["line_id"]}"]')
        assert f"#{line['cue']}" in row.locator("td.where").inner_text()
        assert line["speaker"] and row.locator(".speaker").inner_text() == line["speaker"]
        who = row.locator(".who").inner_text()
        assert line["voice"] in who and line["engine"] in who, who
        for check in line["checks"]:
            if check["verdict"] in ("fail", "warn"):
                assert check["name"] in row.locator("td.qa").inner_text()
    first = page.locator("audio.current").first
    page.wait_for_function("a => a.duration > 0", arg=first.element_handle(), timeout=30_000)  # preload=metadata
    one = report["lines"][0]
    page.select_option(f'select[name="change:{one["line_id"]}"]', "speed")
    page.fill(f'input[name="speed:{one["line_id"]}"]', "0.7")
    consequence = page.locator(f'tr.retake[data-line="{one["line_id"]}"] .consequence').inner_text()
    assert "at 0.7×" in consequence and "slot" in consequence, consequence
    screenshot(page, "review-context")

    speaker = one["speaker"]
    page.select_option("#filters select[name=speaker]", speaker)
    page.click("#filters button")
    page.wait_for_load_state()
    shown = page.locator("tr.line").evaluate_all("rows => rows.map(r => r.dataset.line)")
    assert shown == [line["line_id"] for line in report["lines"] if line["speaker"] == speaker], shown
    verdict = report["lines"][0]["verdict"] if not report["lines"][0]["quarantined"] else "quarantined"
    page.goto(f"{server.url}{server.page}?verdict={verdict}")
    shown = page.locator("tr.line").evaluate_all(
        "rows => rows.map(r => r.dataset.verdict || r.closest('tbody').dataset.verdict)"
    )
    assert shown and set(shown) == {verdict}, shown
    assert f"of {len(report['lines'])} lines match the filters" in page.locator(".page-info").inner_text()
