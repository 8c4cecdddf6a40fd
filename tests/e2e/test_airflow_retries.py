"""What Airflow's retries and failures do to dubflow, on a real ``airflow standalone``, driven through the REST API.

* A voice_script task SIGKILLed half-way through synthesis (the OOM killer, a lost node) is retried by Airflow and
  finishes the *same* version: the cache objects that made it before the kill are reused, nothing in the versioned
  assets bucket is written twice, the result equals a clean run's, and the killed task's Dask workers die with it.
* The same when the kill comes half-way through the publish: the retry completes version 1, uploading only what
  was missing and leaving every object of the killed try as it was (one version per key).
* A script that cannot be ingested fails the run (after its retries); a script that is published triggers the
  example consumer DAG through the ``dubflow-published`` asset alias, which names the new manifest.

Every test voices into a project of its own (unique id): the shared instance's other tests never see its objects.
A fresh project has no speaker map in ``configs/voices.yaml``, so the scripts are line sheets naming their voices.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
import pytest

from pipeline.scripts.ingest import ingest_file
from pipeline.settings import Settings
from pipeline.storage import keys
from pipeline.storage.inbox import put_script
from pipeline.storage.store import ObjectStore
from tests.conftest import FIXTURES, SAMPLES
from tests.e2e.conftest import RUN_TIMEOUT, Standalone

DAG_ID = "dubflow_dubbing"
CONSUMER = "dubflow_on_new_assets"
DAY = date(2026, 4, 7)
VOICE = "en-joe"
REPEATS = 4  # the sample's 6 cues, 4 times over: a synthesis phase long enough to kill it half-way
SUMMARY = re.compile(r"^(\d+) lines: (\d+) synthesized, (\d+) cached, (\d+) failed")

pytestmark = [pytest.mark.timeout(900)]


# -- helpers ---------------------------------------------------------------------------------------------------


def _line_sheet(folder: Path, name: str, line_prefix: str, repeats: int) -> Path:
    """The sample episode as a line sheet with line ids of our own (the line id seeds synthesis, so new ids mean
    cache misses even on an instance that voiced the sample before), every line in Piper's en-joe: what is under
    test is Airflow's retry, and Piper speaks a line in a tenth of Kokoro's time (the demo's THEO). A fresh project
    has no speaker map, so the voice is explicit. Each repeat starts 20 s after the previous one: no cues overlap."""
    sample = ingest_file(SAMPLES / "en_dub_ep01.srt", Settings().ingest)
    assert sample.ok, sample.problems
    path = folder / name
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["line_id", "speaker", "text", "start", "end", "voice", "lang"])
        for repeat in range(repeats):
            for line in sample.lines:
                assert line.start is not None and line.end is not None
                writer.writerow([f"{line_prefix}-{repeat}{line.index:02d}", line.speaker, line.text,
                                 f"{line.start + 20 * repeat:.3f}", f"{line.end + 20 * repeat:.3f}", VOICE,
                                 line.lang])  # fmt: skip
    return path


def _trigger(airflow: Standalone, run_id: str, project: str, script_key: str) -> None:
    run = airflow.trigger(DAG_ID, run_id, {"project": project, "script_key": script_key})
    assert run["state"] in ("queued", "running") and run["conf"]["script_key"] == script_key, run


def _task_instance(airflow: Standalone, run_id: str, task_id: str, map_index: int = -1) -> dict[str, Any]:
    path = f"/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}"
    return airflow.api("GET", path if map_index < 0 else f"{path}/{map_index}")


def _xcom(airflow: Standalone, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> Any:
    path = f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/xcomEntries/return_value"
    value = airflow.api("GET", path, params={"map_index": map_index})["value"]
    return json.loads(value) if isinstance(value, str) else value


def _task_errors(airflow: Standalone, run_id: str, task_id: str, map_index: int) -> dict[int, str]:
    """Try number → the exception a task instance failed with, from its task logs (JSON lines: the exception is in
    the ``error_detail`` of the "Task failed with exception" record, which Standalone.task_logs does not show)."""
    folder = airflow.home / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}" / f"task_id={task_id}"
    errors = {}
    for path in sorted((folder / f"map_index={map_index}").glob("attempt=*.log")):
        for line in path.read_text(errors="replace").splitlines():
            with suppress(ValueError):
                record = json.loads(line)
                for detail in (record.get("error_detail") if isinstance(record, dict) else None) or []:
                    attempt = int(path.stem.removeprefix("attempt="))
                    errors[attempt] = errors.get(attempt, "") + f"{detail['exc_type']}: {detail['exc_value']}\n"
    return errors


def _cache_objects(store: ObjectStore, script_id: str, seen: dict[str, str | None]) -> dict[str, Any]:
    """The staging cache clips synthesized for ``script_id`` (user metadata ``script-id``), key → info. ``seen``
    remembers the owner of every key already looked at, so polling costs one LIST plus a HEAD per new object."""
    found = {}
    for obj in store.list("staging", "cache/"):
        if obj.key not in seen:
            info = store.stat("staging", obj.key)
            seen[obj.key] = info.metadata.get("script-id") if info else None
        if seen[obj.key] == script_id and (info := store.stat("staging", obj.key)) is not None:
            found[obj.key] = info
    return found


def _versions(store: ObjectStore, prefix: str) -> Counter[str]:
    """How many versions (delete markers included) each key under ``prefix`` has in the versioned assets bucket."""
    objects = store.client.list_objects(bucket_name=store.bucket("assets"), prefix=prefix, recursive=True,
                                        include_version=True)  # fmt: skip
    return Counter(obj.object_name for obj in objects)


@dataclass
class Killed:
    runner: psutil.Process
    workers: list[psutil.Process]  # the runner's descendants at the moment of the kill (the local Dask workers)


def _task_runner(airflow: Standalone, ti_id: str) -> psutil.Process | None:
    """The task-runner process of one task instance under the standalone tree, found by the title it gives itself
    at start-up (``airflow worker -- <ti id>``); processes it forks keep the title until they set their own, so the
    runner is the one whose parent does not carry it."""
    title = f"airflow worker -- {ti_id}"

    def titled(proc: psutil.Process | None) -> bool:
        with suppress(psutil.Error):
            return proc is not None and " ".join(proc.cmdline()).strip() == title
        return False

    runners = [p for p in psutil.Process(airflow.pid).children(recursive=True) if titled(p) and not titled(p.parent())]
    assert len(runners) <= 1, f"several task runners titled {title!r}: {_describe(runners)}"
    return runners[0] if runners else None


def _running_voice_script(airflow: Standalone, run_id: str, deadline: float) -> tuple[dict[str, Any], psutil.Process]:
    """Once the run's voice_script instance runs: its task instance (REST) and its task-runner process. The state
    turns "running" a moment before the runner has titled itself, so both are waited for."""
    while True:
        states = airflow.task_states(DAG_ID, run_id)
        assert time.monotonic() < deadline, f"voice_script did not start: {states}"
        if "voice_script[0]" in states:
            ti = _task_instance(airflow, run_id, "voice_script", 0)
            assert ti["state"] in ("scheduled", "queued", "running", None), ti
            if ti["state"] == "running" and (runner := _task_runner(airflow, ti["id"])) is not None:
                return ti, runner
        time.sleep(0.2)


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    """Still running (same PID *and* start time, so a reused PID is not mistaken for ours), zombies excluded."""
    alive = []
    for proc in procs:
        with suppress(psutil.Error):
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
    return alive


def _describe(procs: list[psutil.Process]) -> str:
    lines = []
    for proc in procs:
        with suppress(psutil.Error, OSError):  # gone meanwhile
            lines.append(f"pid {proc.pid} ppid {proc.ppid()} pgid {os.getpgid(proc.pid)} status {proc.status()} "
                         f"started {datetime.fromtimestamp(proc.create_time(), UTC):%H:%M:%S} "
                         f"cmd {' '.join(proc.cmdline())[:120]!r}")  # fmt: skip
    return "\n".join(lines)


def _pipes(proc: psutil.Process) -> dict[str, set[int]]:
    """The pipe inodes a process holds open, by direction (from /proc: ``fdinfo`` flags 0 = read, 1 = write)."""
    held: dict[str, set[int]] = {"read": set(), "write": set()}
    with suppress(OSError):
        for fd in os.listdir(f"/proc/{proc.pid}/fd"):
            with suppress(OSError, ValueError):
                target = os.readlink(f"/proc/{proc.pid}/fd/{fd}")
                if target.startswith("pipe:["):
                    info = Path(f"/proc/{proc.pid}/fdinfo/{fd}").read_text()
                    flags = int(next(x for x in info.splitlines() if x.startswith("flags:")).split()[1], 8)
                    held["write" if flags & 0o3 == 1 else "read"].add(int(target[6:-1]))
    return held


def _held_open(procs: list[psutil.Process]) -> str:
    """Which of ``procs`` hold open for writing a pipe another one of them reads. Shown when workers outlive their
    parent: a distributed worker notices its parent's death by EOF on a pipe whose write end only the parent is
    meant to hold, and forked siblings inherit each other's write ends (spawned workers do not)."""
    pipes = {proc.pid: _pipes(proc) for proc in procs}
    links = [f"pid {reader} reads pipe {inode} whose write end pid {writer} holds"
             for reader, held in pipes.items() for inode in sorted(held["read"])
             for writer, other in pipes.items() if writer != reader and inode in other["write"]]  # fmt: skip
    return "\n".join(links) or "no pipe of one is held open for writing by another"


@pytest.fixture
def reap() -> Iterator[list[psutil.Process]]:
    """Processes a test found orphaned: after the test (which reports them) they are killed by PID, or they would
    outlive the suite: the standalone fixture's shutdown check covers its own process group, and a task runner
    (with the Dask workers it forks) leads a group of its own."""
    orphans: list[psutil.Process] = []
    yield orphans
    for proc in _alive(orphans):
        with suppress(psutil.Error):
            proc.kill()


def _manifest_essence(manifest: dict[str, Any]) -> dict[str, Any]:
    """What must not depend on the run, the project or the time: each line's audio (sha256, size, duration), each
    delivery file's bytes, QA verdicts and the quarantine. The QA reports are compared by name only: they state
    the project they were made for."""
    return {
        "version": manifest["version"],
        "lines": sorted(
            (
                line["line_id"],
                line["lang"],
                line["name"],
                line["sha256"],
                line["bytes"],
                line["duration"],
                line["qa_verdict"],
            )
            for line in manifest["lines"]
        ),
        "files": sorted((f["name"], None if f["name"].startswith("qa/") else f["sha256"]) for f in manifest["files"]),
        "totals": manifest["totals"],
        "qa": manifest["source"].get("qa"),
        "quarantined": manifest["source"].get("quarantined"),
    }


# -- tests -----------------------------------------------------------------------------------------------------


def test_a_task_killed_mid_synthesis_is_retried_into_the_same_version_without_uploading_twice(
    standalone: Standalone, store: ObjectStore, tmp_path: Path, reap: list[psutil.Process]
) -> None:
    nonce = uuid.uuid4().hex[:8]
    project, script_id = f"retry-{nonce}", f"kill_{nonce}"
    lines = 6 * REPEATS
    script = _line_sheet(tmp_path, f"{script_id}.csv", f"k{nonce}", REPEATS)
    key = put_script(store, script, project, DAY).key
    run_id = f"e2e-kill-{nonce}"
    _trigger(standalone, run_id, project, key)

    # Wait until some, not all, of the script's clips are in the cache; then SIGKILL the task runner.
    deadline = time.monotonic() + RUN_TIMEOUT
    ti, runner = _running_voice_script(standalone, run_id, deadline)
    assert ti["try_number"] == 1, ti
    seen: dict[str, str | None] = {}
    while not (cached := _cache_objects(store, script_id, seen)):
        assert runner.is_running() and time.monotonic() < deadline, "voice_script ended before synthesizing"
        time.sleep(0.1)
    assert len(cached) < lines, f"synthesis finished before the kill ({len(cached)} clips): test is too slow"
    killed = Killed(runner, runner.children(recursive=True))
    descendants = _describe(killed.workers)  # before the kill: they may be gone right after it
    runner.send_signal(signal.SIGKILL)
    kill_time = time.monotonic()
    print(f"killed try 1 (pid {runner.pid}) after {len(cached)}/{lines} clips; its descendants:\n{descendants}")
    assert "dask worker" in descendants, f"no Dask worker under the task runner: {descendants}"

    # The Dask workers must die with the task runner (distributed's parent-alive pipe), not linger with the
    # engines loaded. Reported with their details, then killed by PID (see the reap fixture).
    grace = time.monotonic() + 30
    while _alive(killed.workers) and time.monotonic() < grace:
        time.sleep(0.5)
    orphans = _alive(killed.workers)
    reap.extend(orphans)
    orphan_report = f"30 s after the kill:\n{_describe(orphans)}\n{_held_open(orphans)}" if orphans else ""

    # Airflow notices the dead task and schedules a retry; what is in the cache then is what the retry may reuse.
    deadline = time.monotonic() + 120
    while (ti := _task_instance(standalone, run_id, "voice_script", 0))["state"] not in ("up_for_retry", "failed"):
        assert time.monotonic() < deadline, f"the killed task was not marked for retry: {ti}"
        time.sleep(1)
    assert ti["state"] == "up_for_retry", f"{ti}\n{standalone.task_logs(DAG_ID, run_id)}"
    before_retry = _cache_objects(store, script_id, seen)
    assert 0 < len(before_retry) < lines, f"{len(before_retry)} of {lines} clips cached before the retry"

    standalone.wait_for_runs(DAG_ID, [run_id])
    ti = _task_instance(standalone, run_id, "voice_script", 0)
    assert ti["try_number"] >= 2, f"the run succeeded without a retry: {ti}"
    result = _xcom(standalone, DAG_ID, run_id, "voice_script", 0)
    summary = SUMMARY.match(result["synthesis"])
    assert summary, result
    total, synthesized, reused, failed = map(int, summary.groups())
    # The retry synthesized exactly what was missing: every clip that made it before the kill came from the cache.
    assert (total, synthesized, reused, failed) == (lines, lines - len(before_retry), len(before_retry), 0), result
    assert result["version"] == 1 and not result["already_published"], result

    # Staging is not versioned (store.ensure_buckets leaves it so: it is a cache), so "not uploaded twice" is
    # checked by content and time: every clip that survived the kill is the very object the retry found.
    after = _cache_objects(store, script_id, seen)
    assert len(after) == lines, f"{len(after)} clips in the cache for {lines} lines"
    rewritten = [k for k, info in before_retry.items()
                 if (after[k].etag, after[k].last_modified) != (info.etag, info.last_modified)]  # fmt: skip
    assert not rewritten, f"cache objects written again by the retry: {rewritten}"

    # The assets bucket is versioned: any second PUT of a key would have left a second version.
    published = _versions(store, f"{project}/")
    manifest_key = f"{project}/{script_id}/v1/manifest.json"
    assert manifest_key in published and all(k.startswith(f"{project}/{script_id}/v1/") for k in published), published
    assert {k: n for k, n in published.items() if n != 1} == {}, "assets uploaded more than once"
    parts = {k: n for k, n in _versions(store, "catalog/").items() if f"/project={project}/" in k}
    assert list(parts.values()) == [1], f"catalog parts of {project}: {parts}"
    manifest = json.loads(store.get_bytes("assets", manifest_key))
    assert manifest["run_id"] == run_id and result["manifest"].endswith(manifest_key), (manifest["run_id"], result)

    # A clean run of the same script in another fresh project delivers the same files. It finds every clip and QA
    # result in the cache (they are addressed by content, not by project), so this compares what the killed and
    # retried run packaged and published with what one uninterrupted try makes of the same clips.
    clean_project, clean_run = f"clean-{nonce}", f"e2e-clean-{nonce}"
    clean_key = put_script(store, script, clean_project, DAY).key
    _trigger(standalone, clean_run, clean_project, clean_key)
    standalone.wait_for_runs(DAG_ID, [clean_run])
    assert _task_instance(standalone, clean_run, "voice_script", 0)["try_number"] == 1
    clean = json.loads(store.get_bytes("assets", f"{clean_project}/{script_id}/v1/manifest.json"))
    assert _manifest_essence(manifest) == _manifest_essence(clean)

    if still := _alive(orphans):  # not merely slow to close: still there after the retry and the clean run
        orphan_report += f"\nand still alive {time.monotonic() - kill_time:.0f} s after it:\n{_describe(still)}"
    assert not orphans, f"Dask workers outlived the SIGKILLed task runner {killed.runner.pid}: {orphan_report}"


def test_a_task_killed_mid_publish_is_retried_into_the_same_version_without_uploading_twice(
    standalone: Standalone, store: ObjectStore, tmp_path: Path
) -> None:
    nonce = uuid.uuid4().hex[:8]
    project, script_id = f"publish-{nonce}", f"cut_{nonce}"
    lines = 6 * REPEATS
    key = put_script(store, _line_sheet(tmp_path, f"{script_id}.csv", f"p{nonce}", REPEATS), project, DAY).key
    run_id = f"e2e-cut-{nonce}"
    _trigger(standalone, run_id, project, key)

    # Find the task runner while it synthesizes, then watch the version's prefix closely: the publish of ~30 objects
    # takes about a second, so the kill must not wait for a process search.
    deadline = time.monotonic() + RUN_TIMEOUT
    ti, runner = _running_voice_script(standalone, run_id, deadline)
    assert ti["try_number"] == 1, ti
    prefix = f"{project}/{script_id}/v1/"
    manifest_key = prefix + "manifest.json"
    bucket = store.bucket("assets")
    partial: list[str] = []
    while not partial:
        assert time.monotonic() < deadline and runner.is_running(), "voice_script ended before publishing"
        partial = [
            o.object_name
            for o in store.client.list_objects(bucket_name=bucket, prefix=prefix, recursive=True)
            if not o.object_name.endswith(keys.CLAIM_NAME)
        ]  # an asset, not the claim before them
        if partial:
            runner.send_signal(signal.SIGKILL)
        else:
            time.sleep(0.02)
    with suppress(psutil.TimeoutExpired):
        runner.wait(timeout=30)  # gone (its supervisor reaps it); then let a request already sent land
    time.sleep(1)
    claim_key = prefix + keys.CLAIM_NAME  # the version's claim, written before any asset
    cut = {info.key: info for info in (store.stat("assets", o.key) for o in store.list("assets", prefix))
           if info and info.key != claim_key}  # fmt: skip
    print(
        f"killed try {ti['try_number']} (pid {runner.pid}) when {len(partial)} object(s) were seen; "
        f"{len(cut)} there after the kill"
    )
    assert manifest_key not in cut, f"the kill came after the manifest ({len(cut)} objects): the watch loop is too slow"
    assert cut, "nothing was published before the kill"

    standalone.wait_for_runs(DAG_ID, [run_id])
    ti = _task_instance(standalone, run_id, "voice_script", 0)
    assert ti["try_number"] >= 2, f"the run succeeded without a retry: {ti}"
    result = _xcom(standalone, DAG_ID, run_id, "voice_script", 0)
    summary = SUMMARY.match(result["synthesis"])
    assert summary and summary.groups() == (str(lines), "0", str(lines), "0"), result  # all from the cache
    assert result["version"] == 1 and result["manifest"].endswith(manifest_key), result

    manifest = json.loads(store.get_bytes("assets", manifest_key))
    entries = manifest["lines"] + manifest["files"]
    # The retry completed the version: it uploaded only what the killed try had not, and kept what it had.
    assert result["uploaded"] == len(entries) - len(cut), (result["uploaded"], len(entries), len(cut))
    versions = _versions(store, f"{project}/")
    assert {k: n for k, n in versions.items() if n != 1} == {}, "assets uploaded more than once"
    written = {e["key"] for e in entries} | {manifest_key, claim_key}
    assert set(versions) == written, set(versions) ^ written
    for entry in entries:  # every object is what the manifest says, including those the killed try wrote
        info = store.stat("assets", entry["key"])
        assert info is not None and info.sha256 == entry["sha256"] and info.size == entry["bytes"], entry["key"]
        if entry["key"] in cut:
            assert info.version_id == cut[entry["key"]].version_id, f"{entry['key']} was replaced"
    parts = {k: n for k, n in _versions(store, "catalog/").items() if f"/project={project}/" in k}
    assert list(parts.values()) == [1], f"catalog parts of {project}: {parts}"


def test_a_broken_script_fails_its_run_and_a_publish_triggers_the_consumer(
    standalone: Standalone, store: ObjectStore, tmp_path: Path
) -> None:
    nonce = uuid.uuid4().hex[:8]
    broken_project, good_project = f"broken-{nonce}", f"consumer-{nonce}"
    broken_key = put_script(store, FIXTURES / "malformed" / "bad_timing.srt", broken_project, DAY).key
    script = _line_sheet(tmp_path, f"short_{nonce}.csv", f"c{nonce}", 1)
    good_key = put_script(store, script, good_project, DAY).key
    broken_run, good_run = f"e2e-broken-{nonce}", f"e2e-consumer-{nonce}"
    started = datetime.now(UTC)
    _trigger(standalone, broken_run, broken_project, broken_key)  # both at once
    _trigger(standalone, good_run, good_project, good_key)

    standalone.wait_for_runs(DAG_ID, [good_run])
    result = _xcom(standalone, DAG_ID, good_run, "voice_script", 0)
    manifest_uri = result["manifest"]
    assert result["version"] == 1 and manifest_uri.endswith(f"/{good_project}/short_{nonce}/v1/manifest.json"), result

    # The publish is an asset event through the dubflow-published alias: the consumer runs and names the manifest.
    deadline = time.monotonic() + 180
    consumer: dict[str, Any] | None = None
    arrived: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    while consumer is None and time.monotonic() < deadline:
        runs = standalone.api("GET", f"/dags/{CONSUMER}/dagRuns", params={
            "run_after_gte": started.isoformat(), "order_by": "-run_after", "limit": 50})["dag_runs"]  # fmt: skip
        for run in runs:
            if run["state"] != "success":
                continue
            announced = _xcom(standalone, CONSUMER, run["dag_run_id"], "announce")
            if any(item.get("manifest") == manifest_uri for item in announced):
                consumer, arrived = run, announced
                break
        else:
            time.sleep(1)
    assert consumer is not None, (f"no successful {CONSUMER} run announced {manifest_uri} within 180 s; runs: "
                                  f"{[(r['dag_run_id'], r['run_type'], r['state']) for r in runs]}")  # fmt: skip
    assert consumer["run_type"] == "asset_triggered", consumer
    ours = [item for item in arrived if item.get("manifest") == manifest_uri]
    assert ours == [{"asset": f"dubflow/{good_project}", "manifest": manifest_uri, "script_id": f"short_{nonce}"}]

    # The broken script: discover finds it, voice_script fails at once (a broken script is not retried: retrying
    # cannot fix it), summarize still reports, the run fails.
    states = standalone.wait_for_runs(DAG_ID, [broken_run], expect="failed")
    tasks = standalone.task_states(DAG_ID, broken_run)
    assert states == {broken_run: "failed"}, (states, tasks)
    assert tasks == {"discover[-1]": "success", "voice_script[0]": "failed", "summarize[-1]": "success",
                     "all_scripts_voiced[-1]": "upstream_failed"}, tasks  # fmt: skip
    assert _task_instance(standalone, broken_run, "voice_script", 0)["try_number"] == 1  # no retries
    summary = _xcom(standalone, DAG_ID, broken_run, "summarize")
    assert (summary["scripts"], summary["voiced"], summary["failed"], summary["published"]) == (1, 0, 1, 0), summary
    errors = _task_errors(standalone, broken_run, "voice_script", 0)
    assert sorted(errors) == [1], errors
    # It failed on the script itself, naming the file, the line and the problem (AirflowFailException: no retry).
    assert "AirflowFailException" in errors[1] and f"{broken_key}: " in errors[1], errors[1]
    assert "bad_timing.srt:6: error: malformed cue timing line: '00:00:0x,000 --> 00:00:08,000'" in errors[1], errors
    assert not list(store.list("assets", f"{broken_project}/")), "the broken script published something"
