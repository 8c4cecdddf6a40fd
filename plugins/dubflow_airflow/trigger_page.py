"""The *Voice scripts* tab of a voicing DAG: pick inbox scripts instead of typing their keys, and queue one run each.

The form's fields and choices are the DAG's own params (read through Airflow's REST API as the user, like every
trigger here), so this page and Airflow's trigger form can never disagree. Each run is triggered through the REST
API with the user's token: Airflow validates the conf and records who asked; a refusal is shown with the field it
names (Airflow's own form says only "Bad Request"). Triggering here never unpauses the DAG: a paused DAG's runs wait
until an operator unpauses it, and the page says so.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from dubflow_airflow import web

router = APIRouter()
FIELDS = ("profile", "force", "dry_run", "engine", "voices")  # what the page asks besides the scripts


@router.get("/trigger/{dag_id}", response_class=HTMLResponse, dependencies=[web.CanRead])
def trigger_page(dag_id: str, request: Request, user: GetUserDep) -> HTMLResponse:
    from pipeline.hand_trigger import TriggerError, offered_scripts

    details = _dag_details(request, dag_id)
    params = details.get("params") or {}
    project = request.query_params.get("project") or _default(params, "project") or ""
    days = web.int_param(request.query_params.get("days"), 7)
    kinds = _kinds(dag_id)
    store, problem = web.store()
    offered: list[Any] = []
    if store is not None:
        try:
            offered = offered_scripts(store, project, kinds, days)
        except (TriggerError, ValueError) as exc:
            problem = str(exc)
        except Exception as exc:  # the store's problem is shown; the page still renders
            problem = f"cannot list the inbox: {type(exc).__name__}: {exc}"
    shown = {"dag_id": dag_id, "project": project, "days": days, "offered": offered, "problem": problem}
    shown |= {"fields": {name: _field(params, name) for name in FIELDS}, "paused": details.get("is_paused")}
    shown |= {"user": user.get_name(), "kinds": sorted(kinds), "root": "../../"}
    shown |= {key: request.query_params.get(key) for key in ("error",)}
    shown["queued"] = [run for run in request.query_params.getlist("queued") if run]
    page = web.TEMPLATES.get_template("trigger.html").render(shown)
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


@router.post("/trigger/{dag_id}", dependencies=[web.CanTrigger])
async def trigger_runs(dag_id: str, request: Request) -> Response:
    """Form: ``project``, ``script`` (inbox keys, repeated), and the DAG's ``profile``, ``force``, ``dry_run``,
    ``engine``, ``voices`` (``SPEAKER = voice-id`` lines)."""
    web.same_origin(request)
    form = await request.form()
    fields = {key: [str(v) for v in form.getlist(key)] for key in form}
    return await run_in_threadpool(_queue, dag_id, request, fields)


def _queue(dag_id: str, request: Request, form: dict[str, list[str]]) -> Response:
    from pipeline.hand_trigger import (
        MAX_PICKED,
        TriggerError,
        explain_refusal,
        parse_recast,
        pending_twin,
        run_conf,
        run_id,
    )

    project = (form.get("project") or [""])[0]
    page = f"{quote(dag_id, safe='')}?project={quote(project, safe='')}"
    picked = list(dict.fromkeys(form.get("script") or []))
    if not picked:
        return web.back(page, error="script: pick at least one script from the inbox")
    if len(picked) > MAX_PICKED:
        return web.back(page, error=f"script: {len(picked)} picked; at most {MAX_PICKED} at a time")
    try:
        options = {
            "profile": (form.get("profile") or [""])[0] or None,
            "force": "force" in form,
            "dry_run": "dry_run" in form,
            "engine": (form.get("engine") or [""])[0] or None,
            "voices": parse_recast((form.get("voices") or [""])[0]),
        }
    except TriggerError as exc:
        return web.back(page, error=str(exc))
    options = {k: v for k, v in options.items() if v is not None}
    queued, now = [], datetime.now(UTC)
    pending = _pending_runs(request, dag_id)
    for key in picked:
        conf = run_conf(project, key, options)
        if twin := pending_twin(conf, pending):
            queued.append(twin)
            continue
        body = {"dag_run_id": run_id(conf, now), "logical_date": None, "conf": conf, "note": "voiced by hand"}
        answer = web.as_user(request, "POST", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns", body)
        if answer.status_code == status.HTTP_409_CONFLICT:  # the same submission again: that run is the one
            queued.append(body["dag_run_id"])
        elif not answer.is_success:
            detail = _detail(answer)
            done = f" ({len(queued)} queued before it)" if queued else ""
            return web.back(page, error=f"{key}: {explain_refusal(answer.status_code, detail)}{done}")
        else:
            queued.append(answer.json()["dag_run_id"])
    if len(queued) == 1:  # straight to the run's Review tab, which shows its progress
        return web.back(f"../review/{quote(dag_id, safe='')}/{quote(queued[0], safe='')}", started=queued[0])
    return web.back(page, queued=queued)


def _pending_runs(request: Request, dag_id: str) -> list[dict[str, Any]]:
    path = f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns"
    answer = web.as_user(request, "GET", f"{path}?state=queued&state=running&limit=100&order_by=-run_after")
    return answer.json().get("dag_runs", []) if answer.is_success else []


def _dag_details(request: Request, dag_id: str) -> dict[str, Any]:
    answer = web.as_user(request, "GET", f"/api/v2/dags/{quote(dag_id, safe='')}/details", None)
    if answer.status_code == status.HTTP_404_NOT_FOUND:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no DAG {dag_id}")
    if not answer.is_success:
        raise HTTPException(answer.status_code, _detail(answer))
    details = answer.json()
    if "script_key" not in (details.get("params") or {}):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{dag_id} is not a voicing DAG (it has no script_key)")
    return details


def _kinds(dag_id: str) -> set[str]:
    from pipeline.orchestrate import SCRIPT_KINDS

    kind = dag_id.removeprefix("dubflow_")
    return {kind} if kind in SCRIPT_KINDS else set(SCRIPT_KINDS)


def _field(params: dict[str, Any], name: str) -> dict[str, Any]:
    """One DAG param as the template needs it: its default, description and the choices it allows."""
    param = params.get(name) or {}
    schema = param.get("schema") or {}
    choices = [c for c in schema.get("enum") or [] if c not in (None, "")]
    return {"value": param.get("value"), "description": param.get("description") or "", "choices": choices}


def _default(params: dict[str, Any], name: str) -> Any:
    return (params.get(name) or {}).get("value")


def _detail(answer: Any) -> str:
    try:
        detail = answer.json().get("detail")
    except ValueError:
        return answer.text[:500]
    return detail if isinstance(detail, str) else str(detail)[:500]
