"""A published version's QA report and its files, served behind Airflow's login at a link that does not expire:
``/dubflow/report/<project>/<script_id>/v<N>/qa/report.html`` (``pipeline.review.report_path``).

A presigned S3 link lapses after ``storage.presign_expiry`` and cannot be shared; this one can, with whoever may
read assets in Airflow. The report's header gets the version, run and date from the manifest (the stored report is
made before its version exists); the stems and clips it links to are reached through the same place (a redirect to
a fresh presigned URL: S3 serves the bytes, with ranges). Only files the manifest lists: a path reaches nothing else.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from airflow.api_fastapi.core_api.security import requires_access_asset
from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dubflow_airflow import web

router = APIRouter()
CanReadAssets = Depends(requires_access_asset("GET"))
_PUBLISHED = re.compile(r'<p class="published" id="published">.*?</p>', re.S)


@router.get("/report/{project}/{script_id}/v{version}", dependencies=[CanReadAssets])
def report_home(project: str, script_id: str, version: int) -> RedirectResponse:
    return RedirectResponse(f"v{version}/qa/report.html", status.HTTP_307_TEMPORARY_REDIRECT)


@router.get("/report/{project}/{script_id}/v{version}/{path:path}", dependencies=[CanReadAssets])
def report_file(project: str, script_id: str, version: int, path: str) -> Response:
    from pipeline.review import published_header

    store, problem = web.store()
    if store is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, problem)
    prefix = _prefix(project, script_id, version)
    manifest = _manifest(store, prefix)
    listed = {entry["name"] for entry in [*manifest.get("files", []), *manifest.get("lines", [])]}
    if path not in listed:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{project}/{script_id} v{version} has no file {path!r}")
    if path != "qa/report.html":  # a stem can be hundreds of MB: S3 serves it (with ranges, for seeking)
        return RedirectResponse(store.presigned_get("assets", prefix + path), status.HTTP_307_TEMPORARY_REDIRECT)
    header = f'<p class="published" id="published">{html.escape(published_header(manifest))}</p>'
    page = _PUBLISHED.sub(lambda _: header, store.get_bytes("assets", prefix + path).decode("utf-8"), count=1)
    return HTMLResponse(page, headers={"Cache-Control": "private, max-age=300"})


def _prefix(project: str, script_id: str, version: int) -> str:
    from pipeline.ids import InvalidIdError, check_id

    try:
        return f"{check_id(project, 'project')}/{check_id(script_id, 'script id')}/v{int(version)}/"
    except InvalidIdError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None


def _manifest(store: Any, prefix: str) -> dict[str, Any]:
    from pipeline.storage.errors import StorageError

    key = prefix + "manifest.json"
    try:
        if not store.exists("assets", key):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no published version at {prefix}")
        return json.loads(store.get_bytes("assets", key))
    except StorageError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"object store: {exc}") from None
