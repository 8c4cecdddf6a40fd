"""The plugin's FastAPI app, mounted on Airflow's API server at ``/dubflow``: the review page (here), the voice
panels, and the *Voice scripts* page (``trigger_page``).

Airflow does not protect plugin endpoints, so every route depends on Airflow's own authorization: reading a run's
review needs GET on the DAG's runs; queueing a retake needs POST (trigger) on them. The retake is triggered through
Airflow's public REST API *as the reviewer* (their own token), so Airflow validates the conf against the trigger
form's schema and records who asked, exactly as if they had used the trigger form.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any
from urllib.parse import quote

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from dubflow_airflow import web
from dubflow_airflow.report_page import router as report_router
from dubflow_airflow.trigger_page import router as trigger_router

VOICING_TASK = "voice_script"
RUNNING = {"none", "scheduled", "queued", "running", "up_for_retry", "restarting", "deferred"}  # not finished yet

_AUDITION = threading.Lock()
app = FastAPI(title="dubflow review", docs_url=None, redoc_url=None, openapi_url=None)
app.add_exception_handler(HTTPException, web.login_first)
app.include_router(trigger_router)
app.include_router(report_router)
ENROLLMENT_DAG = "dubflow_voice_enrollment"
CanEnroll = Depends(requires_access_dag("POST", DagAccessEntity.RUN, param_dag_id=ENROLLMENT_DAG))


@app.get("/audition/{dag_id}", dependencies=[web.CanRead])
def audition_clip(dag_id: str, voice: str, text: str, lang: str | None = None) -> Response:
    """A catalog voice saying ``text``, as WAV: the review page's audition panel (one at a time per API server, so
    auditions never crowd out the page itself)."""
    import io

    import soundfile as sf

    from dubflow_airflow.hooks import review_voices
    from pipeline.engines.base import EngineError
    from pipeline.voices.audition import AuditionError, audition

    registry, catalog, store = review_voices()
    try:
        with _AUDITION:
            result = audition(registry, catalog, voice, text, lang or None, store=store)
    except AuditionError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from None
    except EngineError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"{voice}: {exc}") from None
    out = io.BytesIO()
    sf.write(out, result.samples, result.sample_rate, format="WAV", subtype="PCM_16")
    return Response(out.getvalue(), media_type="audio/wav", headers={"Cache-Control": "no-store"})


@app.post("/voices/transcript", dependencies=[CanEnroll])
async def voice_transcript(request: Request, user: GetUserDep) -> Response:
    """A reviewer corrects an enrolled voice's prompt transcript (form: ``voice``, ``text``, ``clip`` — the clip's
    sha256 they listened to — and ``dag``/``run``, the review page to return to). Transcripts are shared by every
    project, so this needs trigger permission on the enrollment DAG, not on the page's DAG."""
    web.same_origin(request)
    form = await request.form()
    voice, text, clip, dag, run = (str(form.get(key) or "") for key in ("voice", "text", "clip", "dag", "run"))
    page = f"../review/{quote(dag, safe='')}/{quote(run, safe='')}"
    return await run_in_threadpool(_save_transcript, page, voice, text, clip or None, user.get_name())


def _save_transcript(page: str, voice: str, text: str, clip: str | None, reviewer: str) -> Response:
    from pipeline.enrollment.record import EnrollmentError, correct_transcript
    from pipeline.ids import InvalidIdError
    from pipeline.storage.errors import StorageError

    store, problem = web.store()
    if store is None:
        return web.back(page, error=problem or "object store unavailable")
    try:
        record = correct_transcript(store, voice, text, reviewer, clip)
    except (EnrollmentError, InvalidIdError, StorageError) as exc:
        return web.back(page, error=str(exc))
    return web.back(page, saved=f"{record.voice}: the transcript is now {record.transcript!r} (by {reviewer})")


@app.get("/review/{dag_id}/{run_id}", response_class=HTMLResponse, dependencies=[web.CanRead])
def review(dag_id: str, run_id: str, request: Request, session: SessionDep, user: GetUserDep) -> HTMLResponse:
    from pipeline.review import CHANGES, Filters, script_view

    rows = _voicing_results(session, dag_id, run_id)
    failures = _failures(session, dag_id, run_id)
    store, problem = web.store()
    running = _run_state(session, dag_id, run_id) in RUNNING or any(state in RUNNING for _, state, _, _ in rows)
    scripts = [] if store is None else [script_view(store, *row) for row in rows if row[1] not in RUNNING]
    for script in scripts:  # a script that failed before publishing: the message it failed with
        if (VOICING_TASK, script.map_index) in failures and not script.version:
            script.problem = failures[(VOICING_TASK, script.map_index)]
    failed = [(task, message) for (task, index), message in failures.items() if task != VOICING_TASK]
    query = request.query_params
    filters = Filters(*(query.get(name) or "" for name in ("verdict", "speaker", "engine")))
    choices = Filters.choices(scripts)
    engines = sorted({line.engine for script in scripts for line in script.lines if line.engine})
    for script in scripts:
        script.paged(filters, web.int_param(query.get(f"page{script.map_index}"), 1))
    shown = {"dag_id": dag_id, "run_id": run_id, "scripts": scripts, "store_problem": problem, "root": "../../../"}
    shown |= {"run_failures": failed, "filters": filters, "choices": choices, "limits": _retake_limits(engines)}
    shown |= {"query": dict(query), "changes": CHANGES}
    shown |= {"running": running, "progress_url": f"{quote(run_id, safe='')}/progress"}
    shown |= {"reviewer": user.get_name(), "action": f"{quote(run_id, safe='')}/retake"}
    shown |= {key: request.query_params.get(key) for key in web.ONCE}
    shown |= _audition_panel(dag_id)
    shown |= _voices_panel(store)
    page = web.TEMPLATES.get_template("review.html").render(shown)
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


@app.get("/review/{dag_id}/{run_id}/progress", dependencies=[web.CanRead])
def progress(dag_id: str, run_id: str) -> Response:
    """Each script's progress in this run (stage, lines done / failed / total, elapsed, ETA): the page polls it."""
    from pipeline.progress import run_progress

    store, problem = web.store()
    if store is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, problem)
    with create_session() as session:
        state = _run_state(session, dag_id, run_id)
    body = json.dumps({"run": state, "scripts": run_progress(store, run_id)})
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


@app.post("/review/{dag_id}/{run_id}/retake", dependencies=[web.CanTrigger])
async def retake(dag_id: str, run_id: str, request: Request, user: GetUserDep) -> Response:
    """Queue a new run of the same DAG that re-voices the rejected lines of one script of this run.

    Form: ``script`` (the mapped task's index), ``reject`` (line ids, repeated), ``note:<line id>`` (free text)."""
    web.same_origin(request)
    form = await request.form()
    fields = {key: [str(v) for v in form.getlist(key)] for key in form}
    return await run_in_threadpool(_queue_retake, dag_id, run_id, request, user, fields)


def _queue_retake(dag_id: str, run_id: str, request: Request, user: Any, form: dict[str, list[str]]) -> Response:
    from pipeline.review import ReviewError, load_manifest, retake_asks, retake_conf

    page = f"../{quote(run_id, safe='')}"
    try:
        script = int((form.get("script") or [""])[0])
    except ValueError:
        return web.back(page, error="the form did not say which script the lines belong to")
    with create_session() as session:
        results = {row[2]: row[3] for row in _voicing_results(session, dag_id, run_id)}
    result = results.get(script)
    store, problem = web.store()
    if store is None or not result or not result.get("manifest"):
        return web.back(page, error=problem or f"script {script} of this run published nothing to review")
    try:
        rejected = retake_asks(form)
        manifest = load_manifest(store, result["manifest"])
        conf = retake_conf(manifest, result.get("script_key"), rejected, user.get_name())
    except (ReviewError, ValueError) as exc:
        return web.back(page, error=str(exc))
    digest = hashlib.sha256(json.dumps(conf["retake"], sort_keys=True).encode()).hexdigest()[:10]
    new_run = f"retake__{manifest['script_id']}__v{manifest['version']}__{digest}"
    source = f"{manifest['script_id']} v{manifest['version']} (run {run_id})"
    note = f"Retake of {', '.join(conf['retake'])} from {source}, requested by {user.get_name()} on the review page"
    body = {"dag_run_id": new_run, "logical_date": None, "conf": conf, "note": note}
    answer = web.as_user(request, "POST", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns", body)
    # 409: the same rejection was queued before, and that run is the one to show.
    if not answer.is_success and answer.status_code != status.HTTP_409_CONFLICT:
        return web.back(page, error=f"Airflow refused the retake run: HTTP {answer.status_code} {answer.text[:500]}")
    return web.back(page, queued=new_run)


def _voicing_results(session: Any, dag_id: str, run_id: str) -> list[tuple[str, str, int, dict[str, Any] | None]]:
    """(label, state, map index, return value) of each mapped voicing task of the run, from Airflow's database."""
    tis = session.execute(
        select(TaskInstance.map_index, TaskInstance.state, TaskInstance.rendered_map_index)
        .where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id, TaskInstance.task_id == VOICING_TASK)
        .order_by(TaskInstance.map_index)
    ).all()
    if not tis and _run_state(session, dag_id, run_id) not in RUNNING:  # not a voicing DAG, or no such run
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{dag_id} run {run_id} has no {VOICING_TASK} tasks to review")
    ours = (XComModel.dag_id == dag_id, XComModel.run_id == run_id, XComModel.task_id == VOICING_TASK)
    xcoms = session.scalars(select(XComModel).where(*ours, XComModel.key == "return_value"))
    values = {x.map_index: XComModel.deserialize_value(x) for x in xcoms}
    # An empty expansion leaves one unmapped (map index -1), skipped instance.
    return [(label or f"script {i}", str(state or "none"), i, values.get(i)) for i, state, label in tis if i >= 0]


def _retake_limits(engines: list[str]) -> dict[str, str]:
    """Engine → what a retake with it cannot change (the registry's capabilities; no model is loaded)."""
    from dubflow_airflow.hooks import _audition_registry
    from pipeline.review import retake_limits

    limits = {}
    for name in engines:
        try:
            limits[name] = retake_limits(name, _audition_registry().capabilities(name))
        except Exception:  # an engine this API server cannot build (not installed here): nothing said
            limits[name] = ""
    return limits


def _failures(session: Any, dag_id: str, run_id: str) -> dict[tuple[str, int], str]:
    """(task, map index) → the message each failed task of the run recorded (``hooks.record_failure``)."""
    from dubflow_airflow.hooks import FAILURE_KEY

    ours = (XComModel.dag_id == dag_id, XComModel.run_id == run_id, XComModel.key == FAILURE_KEY)
    return {
        (x.task_id, x.map_index): str(XComModel.deserialize_value(x))
        for x in session.scalars(select(XComModel).where(*ours))
    }


def _audition_panel(dag_id: str) -> dict[str, Any]:
    from dubflow_airflow.hooks import review_catalog
    from pipeline.voices.audition import MAX_CHARS

    try:  # the catalog as written: listing voices needs no enrollments (the voices panel lists those, once)
        catalog = review_catalog()
        voices = sorted(catalog.voices.values(), key=lambda v: v.id)
    except Exception:  # a broken catalog must not cost the review; the audition panel is simply empty
        voices = []
    languages = sorted({lang for voice in voices for lang in voice.languages})
    url = f"../../audition/{quote(dag_id, safe='')}"  # from /dubflow/review/{dag}/{run}
    return {"voices": voices, "languages": languages, "audition_url": url, "audition_max": MAX_CHARS}


def _voices_panel(store: Any) -> dict[str, Any]:
    """Every enrolled voice with its clip, checks and transcript, for a person to hear and confirm or correct."""
    from pipeline.enrollment.record import enrollments

    if store is None:
        return {"enrolled": []}
    try:
        records = sorted(enrollments(store).values(), key=lambda r: (r.confirmed, r.voice))  # unconfirmed first
        enrolled = [(r, store.presigned_get("inbox", r.clip_key)) for r in records]
    except Exception:  # like the audition panel: a store problem is shown above, the review must still render
        enrolled = []
    return {"enrolled": enrolled, "transcript_url": "../../voices/transcript"}  # from /dubflow/review/{dag}/{run}


def _run_state(session: Any, dag_id: str, run_id: str) -> str:
    """The run's state ("missing" when there is no such run): a run still discovering its scripts has no voicing
    tasks yet, but its Review tab already shows its progress."""
    state = session.scalar(select(DagRun.state).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    return str(state) if state is not None else "missing"
