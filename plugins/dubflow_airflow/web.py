"""What the plugin's pages share: Airflow's authorization as route dependencies, the templates, the object store
as the API server sees it, calls to Airflow's REST API as the signed-in user, and form-post safety."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import requires_access_dag
from airflow.configuration import conf
from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")), autoescape=select_autoescape())


ONCE = ("queued", "error", "saved", "started")  # what happened, shown once: a page link must not repeat it


def int_param(value: str | None, default: int) -> int:
    """A number from the query string; anything else is the default (a hand-edited URL must not be a 500)."""
    try:
        return int(value) if value else default
    except ValueError:
        return default


def with_query(query: dict[str, str], **changed: Any) -> str:
    """This page's query string with some values changed (paging keeps the filters, not the banners)."""
    kept = {key: value for key, value in query.items() if key not in ONCE}
    return "?" + urlencode({**kept, **{key: str(value) for key, value in changed.items()}})


def timecode(seconds: float | None) -> str:
    """The QA report's timecode (imported on first use: plugins load in every Airflow process)."""
    from pipeline.qa.report import timecode as written

    return written(seconds)


TEMPLATES.filters |= {"timecode": timecode}
TEMPLATES.globals |= {"with_query": with_query}
CanRead = Depends(requires_access_dag("GET", DagAccessEntity.RUN))
CanTrigger = Depends(requires_access_dag("POST", DagAccessEntity.RUN))


async def login_first(request: Request, exc: HTTPException) -> Response:
    """A browser without a (valid) session goes to Airflow's login and comes back; API clients get the status."""
    if exc.status_code == status.HTTP_401_UNAUTHORIZED and request.method == "GET":
        return RedirectResponse(get_auth_manager().get_url_login(next_url=str(request.url)), status.HTTP_303_SEE_OTHER)
    return Response(json.dumps({"detail": exc.detail}), exc.status_code, media_type="application/json")


def store() -> tuple[Any, str | None]:
    from dubflow_airflow.hooks import review_store

    try:
        return review_store(), None
    except Exception as exc:  # shown on the page: the reviewer (or operator) needs the reason, not a 500
        return None, f"object store unavailable: {exc}"


def as_user(request: Request, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    """Airflow's REST API with the signed-in user's own token: Airflow checks their permissions and records them."""
    token = request.cookies.get(COOKIE_NAME_JWT_TOKEN)
    header = request.headers.get("authorization", "")
    auth = header if header.lower().startswith("bearer ") else f"Bearer {token}"
    base = conf.get("api", "base_url", fallback="") or ""
    if not base.startswith(("http://", "https://")):
        base = f"{request.url.scheme}://{request.url.netloc}{base}"
    with httpx.Client(base_url=base.rstrip("/"), timeout=30) as client:
        return client.request(method, path, json=body, headers={"Authorization": auth, "Referer": str(request.url)})


def same_origin(request: Request) -> None:
    """Defence in depth on top of the session cookie's SameSite=Lax: a form post must come from this host."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin and urlsplit(origin).netloc != request.url.netloc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"cross-site request from {urlsplit(origin).netloc} refused")


def back(page: str, **query: str | list[str]) -> RedirectResponse:
    """Post/redirect/get: back to ``page`` with what happened in its query (a list value repeats the key)."""
    sep = "&" if "?" in page else "?"
    return RedirectResponse(f"{page}{sep}{urlencode(query, doseq=True)}", status.HTTP_303_SEE_OTHER)
