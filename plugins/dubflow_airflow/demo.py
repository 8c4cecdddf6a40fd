"""``make demo``: the scheduled voicing DAGs, run once with ``dag.test()`` on the sample scripts.

Why ``dag.test()``: it runs the real DAGs (params, dynamic task mapping, XCom, asset events, task retries) in this
process without a scheduler, and records the runs in the same metadata database ``make airflow`` serves, so the UI
shows them afterwards. Why here and not in ``pipeline/``: it drives Airflow; ``dubflow demo`` is the Airflow-free
variant of the same stages.

    PYTHONPATH=plugins .venv/bin/python -m dubflow_airflow.demo [--out build/demo] [--airflow-home var/airflow]

Every sample goes into the ``demo`` project's inbox for today (UTC); ``dubflow_dubbing`` and ``dubflow_narration``
then run for today's interval and publish what passes QA. The published files of every version are also copied
to ``<out>/delivery/<script_id>/v<N>/`` so they can be played without S3 tools. Exit code 1 when a run failed.

Only the standard library is imported at module level: the local Dask workers are spawned, and spawning
re-imports this module (as ``__mp_main__``) in every worker; Airflow is configured before it is imported.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from rich.console import Console

    from pipeline.storage.local_server import ServerStatus
    from pipeline.storage.store import ObjectStore

REPO = Path(__file__).resolve().parents[2]
PROJECT = "demo"
AIRFLOW_HOME = REPO / "var" / "airflow"  # the one `make airflow` serves
DAG_IDS = ("dubflow_dubbing", "dubflow_narration")
ENROLLMENT_DAG = "dubflow_voice_enrollment"
PASSWORD_FILE = "simple_auth_manager_passwords.json.generated"
RUNS_COLUMNS = ("DAG run", "state", "script", "status", "version", "QA lines")


@dataclass
class ScriptOutcome:
    """One mapped ``voice_script`` instance: its task state and, when it succeeded, what it returned."""

    name: str
    state: str
    result: dict[str, Any] = field(default_factory=dict)
    local: Path | None = None  # the downloaded copy of the published version

    def status(self) -> str:
        if self.state != "success":
            return f"failed ({self.state})"
        result = self.result
        return "already published" if result.get("already_published") else str(result.get("status", self.state))

    def row(self) -> tuple[str, str, str, str]:
        """The script's cells of the runs table: name, status, version, QA line counts."""
        version = f"v{self.result['version']}" if self.result.get("version") else ""
        counts = self.result.get("qa")
        qa = " ".join(f"{k} {counts.get(k, 0)}" for k in ("pass", "warn", "fail", "quarantined")) if counts else ""
        return self.name, self.status(), version, qa


@dataclass
class RunOutcome:
    dag_id: str
    run_id: str
    state: str
    seconds: float
    scripts: list[ScriptOutcome] = field(default_factory=list)
    note: str = ""

    def rows(self) -> list[tuple[str, ...]]:
        head = (f"{self.dag_id} ({self.seconds:.0f}s)", self.state)
        return [(*head, *s.row()) for s in self.scripts] or [(*head, "", self.note or "no scripts", "", "")]


def _published(runs: list[RunOutcome]) -> list[ScriptOutcome]:
    return [s for run in runs for s in run.scripts if s.result.get("manifest")]


def queue_samples(store: ObjectStore, samples: Path, project: str, day: date) -> list[str]:
    """Every supported script in ``samples`` into the project's inbox for ``day``, and the samples' lexicon with
    the project; returns the inbox keys of the scripts."""
    from pipeline.lexicon.load import store_sample_lexicons
    from pipeline.scripts.ingest import supported_suffixes
    from pipeline.storage.inbox import put_script

    store_sample_lexicons(store, project, samples)
    files = sorted(p for p in samples.iterdir() if p.suffix.lower() in supported_suffixes())
    return [put_script(store, path, project, day).key for path in files]


def enroll_cast(voices_file: Path, project: str, day: date) -> RunOutcome:
    """``dag.test()`` of the enrollment DAG for the project's cast and every voice with a recording: each voice
    without an enrollment speaks (or has checked) its reference clip, so QA's speaker check runs on every line."""
    from pipeline.voices.catalog import load_catalog

    return run_dag(ENROLLMENT_DAG, day, {"voices": load_catalog(voices_file).cast_and_recordings(project)})


def run_dag(dag_id: str, day: date, conf: dict[str, Any]) -> RunOutcome:
    """``dag.test()`` of one DAG for the interval starting at ``day`` (UTC midnight, like the schedule)."""
    from airflow.models import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    dag = bag.get_dag(dag_id)
    if dag is None:
        raise RuntimeError(f"DAG {dag_id} not found in {REPO / 'dags'}: {bag.import_errors}")
    started = time.monotonic()
    run = dag.test(logical_date=datetime(day.year, day.month, day.day, tzinfo=UTC), run_conf=conf)
    outcome = RunOutcome(dag_id, run.run_id, str(run.state), time.monotonic() - started)
    instances = run.get_task_instances()
    done = [ti for ti in instances if str(ti.state) == "success"]
    tasks = ("discover", "summarize", "enroll")
    pulled = {ti.task_id: ti.xcom_pull(task_ids=ti.task_id) for ti in done if ti.task_id in tasks}
    discovered, outcome.note = pulled.get("discover") or [], (pulled.get("summarize") or {}).get("note", "")
    if enrolled := pulled.get("enroll"):
        outcome.note = f"{len(enrolled['enrolled'])} voice(s) enrolled, {len(enrolled['kept'])} already enrolled"
    for ti in sorted((t for t in instances if t.task_id == "voice_script"), key=lambda t: t.map_index):
        name = discovered[ti.map_index]["name"] if 0 <= ti.map_index < len(discovered) else f"#{ti.map_index}"
        result = ti.xcom_pull(task_ids="voice_script", map_indexes=ti.map_index) if str(ti.state) == "success" else None
        outcome.scripts.append(ScriptOutcome(name, str(ti.state), result or {}))
    return outcome


def download_version(store: ObjectStore, manifest_uri: str, folder: Path) -> Path:
    """Copy one published version (lines, stems, subtitles, QA report, manifest) into ``folder``, checked against
    the manifest's sha256; files already there with the right content are not fetched again."""
    from pipeline.digest import sha256_file

    data = store.get_bytes("assets", manifest_uri.split("/", 3)[3])  # s3://bucket/key
    manifest = json.loads(data)
    for entry in [*manifest["lines"], *manifest["files"]]:
        path = folder / entry["name"]
        if not path.is_file() or sha256_file(path) != entry["sha256"]:
            store.get_file("assets", entry["key"], path)
            if sha256_file(path) != entry["sha256"]:
                raise RuntimeError(f"{path}: downloaded content does not match the manifest's sha256")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_bytes(data)
    return folder


def _shown(path: Path) -> str:
    """Relative to the working directory when inside it: shorter, and what ``make`` users type."""
    return str(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)


def report(
    console: Console, runs: list[RunOutcome], store: ObjectStore, server: ServerStatus | None, args: argparse.Namespace
) -> None:
    """What ran, what each run published and where it is, and how to look at it (catalog, S3, the UI)."""
    from pipeline.console import frame_table, rows_table
    from pipeline.storage.asset_catalog import read_catalog, summarize
    from pipeline.storage.local_server import LocalS3Server

    say, project, port = partial(console.print, highlight=False, soft_wrap=True), args.project, args.port
    rows = [row for run in runs for row in run.rows()]
    console.print(rows_table(f"voicing runs of project {project!r}", RUNS_COLUMNS, rows))

    console.print("\n[bold]published assets[/bold] (manifest → local copy)")
    for script in _published(runs):
        say(f"  {script.result['manifest']}")
        if script.local is not None:
            say(f"    → {_shown(script.local)}/  (open {_shown(script.local / 'qa' / 'report.html')})")
    versions = summarize(read_catalog(store, project))
    latest = versions.groupby("script_id", sort=True).tail(1)  # summarize sorts by version: the last is the newest
    newest = f"the newest of {len(versions)} published version(s) of project {project}"
    console.print(frame_table(latest, f"catalog s3://{store.bucket('assets')}/catalog/: {newest}"))

    console.print("\n[bold]object storage[/bold]", highlight=False)
    if server is not None:
        say(f"  local S3 server {server.describe()}")
        credentials = _shown(LocalS3Server(server.data_dir).credentials_file)
        keeps = "it keeps running: `dubflow s3 status`, `dubflow s3 stop`"
        say(f"  credentials: {credentials} (DUBFLOW_S3_* for any S3 client); {keeps}")
    else:
        say(f"  {store!r} (configured endpoint; no local server started)")
    bucket = store.bucket
    say(f"  buckets: {bucket('inbox')} (scripts), {bucket('assets')} (published versions), {bucket('staging')} (cache)")
    cli = _shown(Path(sys.executable).with_name("dubflow"))
    say(f"  list:     {cli} catalog list --project {project}   ·   {cli} inbox list --project {project}")
    say(f"  download: {cli} catalog show {project} <script_id> --presign   (a link per line)")

    console.print("\n[bold]Airflow UI[/bold]", highlight=False)
    home = args.airflow_home
    make = "make airflow" if home.resolve() == AIRFLOW_HOME.resolve() else f"make airflow AIRFLOW_DIR={_shown(home)}"
    make += f" AIRFLOW_PORT={port}" if port != 8080 else ""
    password = home / PASSWORD_FILE
    written = "" if password.is_file() else ", written when it first starts"
    url = f"http://127.0.0.1:{port}"
    say(f"  {make} → {url}  user admin, password in {_shown(password)}{written}")
    say(f"  the runs above are in the grid view of {' and '.join(r.dag_id for r in runs)}")
    for run in (r for r in runs if r.dag_id in DAG_IDS):  # the review page: listen, read the QA verdicts, retake
        page = f"{url}/dubflow/review/{run.dag_id}/{quote(run.run_id, safe='')}"
        say(f"  review {run.dag_id}: {page}  (or the run's Review tab)")


def run_demo(args: argparse.Namespace) -> int:
    """Returns the exit code: 0 when every DAG run succeeded, 1 when one failed, 2 when nothing could run."""
    from dubflow_airflow.local_airflow import prepare

    started = time.monotonic()
    database = prepare(args.airflow_home, args.port, args.postgres)
    try:
        return _run_demo(args, started)
    finally:
        database.stop_if_started()  # left running when `make airflow` runs on it


def _run_demo(args: argparse.Namespace, started: float) -> int:
    from dubflow_airflow.hooks import in_repo, pipeline_settings
    from pipeline.compute.cluster import ClusterError, shared_cluster
    from pipeline.console import make_console
    from pipeline.storage.connect import connect_store
    from pipeline.storage.errors import StorageError

    console = make_console()
    say = partial(console.print, highlight=False, soft_wrap=True)
    with in_repo():  # the settings' relative paths (voices, the local S3 server's data dir) are the repo's
        settings = pipeline_settings()  # what the tasks use: minio_default / dask_default when defined
        # Airflow routes library logs to the console: hide the "connection refused" retries of the readiness probe.
        probe = logging.getLogger("urllib3.connectionpool")
        probe.setLevel(logging.ERROR)
        try:
            store, server = connect_store(settings)
            keys = queue_samples(store, args.samples, args.project, args.day)
        except StorageError as exc:
            say(f"object store: {exc}", style="red", markup=False)
            return 2
        finally:
            probe.setLevel(logging.NOTSET)
        if server is not None:
            say(f"local S3 server {server.describe()}")
        for key in keys:
            say(f"inbox: s3://{store.bucket('inbox')}/{key}")
        with ExitStack() as stack:
            try:  # started before anything slow: a cluster that cannot start is said at once
                address = stack.enter_context(shared_cluster(settings.dask))  # engines load once, not per task
            except ClusterError as exc:
                say(f"Dask cluster: {exc}", style="red", markup=False)
                return 2
            if address is not None:
                say(f"one local Dask cluster for the voicing runs: {address}")
            console.rule(f"{ENROLLMENT_DAG}: dag.test() for the cast of {args.project}")
            runs = [enroll_cast(settings.voices_file, args.project, args.day)]
            for dag_id in DAG_IDS:
                console.rule(f"{dag_id}: dag.test() for {args.day}")
                runs.append(run_dag(dag_id, args.day, {"project": args.project}))
        for script in _published(runs):
            folder = args.out / "delivery" / script.result["script_id"] / f"v{script.result['version']}"
            script.local = download_version(store, script.result["manifest"], folder)
        console.rule("dubflow demo")
        report(console, runs, store, server, args)
    failed = [r for r in runs if r.state != "success"]
    for run in failed:
        say(f"{run.dag_id} run {run.run_id}: {run.state} (task logs above and in the UI)", style="red", markup=False)
    say(f"\n{len(runs) - len(failed)} of {len(runs)} DAG runs succeeded in {time.monotonic() - started:.0f}s")
    return 1 if failed else 0


def _abspath(value: str) -> Path:
    return Path(value).absolute()


def main(argv: list[str] | None = None) -> int:
    about = "make demo: the voicing DAGs on the sample scripts"
    parser = argparse.ArgumentParser("python -m dubflow_airflow.demo", description=about)
    add = parser.add_argument
    add("--samples", type=_abspath, default=REPO / "samples", help="sample scripts (default: samples/)")
    add("--out", type=_abspath, default="build/demo", help="local copies go to OUT/delivery/")
    served = "AIRFLOW_HOME; the default is the one `make airflow` serves"
    add("--airflow-home", type=_abspath, default=AIRFLOW_HOME, help=served)
    add("--port", type=int, default=8080, help="the port `make airflow` serves the UI on")
    add("--postgres", type=_abspath, default=REPO / "var" / "postgres", help="the metadata database's folder")
    add("--project", default=PROJECT, help="the project whose inbox the samples go to")
    today = datetime.now(UTC).date()
    add("--day", type=date.fromisoformat, default=today, help="inbox day and interval (default: today)")
    return run_demo(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
