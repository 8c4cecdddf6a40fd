"""Maintenance DAGs for data engineers: rebuild the asset catalog for a date range, and enroll voices.

``dubflow_catalog_backfill`` re-derives catalog parts from the published manifests (after a backfill of the
voicing DAGs, or a lost part); it never rewrites assets. ``dubflow_voice_enrollment`` checks every voice's
reference clip (length, decoding, transcript) and records its content hash before a production run uses it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Param, get_current_context, task
from dubflow_airflow.hooks import bad_input_fails_fast, in_repo, pipeline_settings

DEFAULTS = {"owner": "dubflow", "retries": 2, "retry_delay": timedelta(seconds=30), "retry_exponential_backoff": True}
BY_HAND = {"schedule": None, "start_date": datetime(2026, 1, 1, tzinfo=UTC), "catchup": False, "default_args": DEFAULTS}

with DAG(
    dag_id="dubflow_catalog_backfill",
    tags=["dubflow", "maintenance"],
    **BY_HAND,
    doc_md="""
### Rebuild the asset catalog for a date range

Trigger with *since* and *until* (publish dates, inclusive) and optionally one *project*. Every manifest
published in the range gets its catalog part rewritten from the manifest (`catalog/date=…/project=…/`).
Assets and manifests are never touched, so running it twice is harmless. To re-voice a past range instead,
backfill the voicing DAG: `airflow backfill create --dag-id dubflow_dubbing --from-date … --to-date …
--reprocess-behavior completed`.
""",
    params={
        "since": Param(None, type=["null", "string"], format="date", description="Default: 7 days ago (UTC)"),
        "until": Param(None, type=["null", "string"], format="date", description="Default: today (UTC)"),
        "project": Param(None, type=["null", "string"], pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"),
    },
):

    @task
    def rebuild() -> dict[str, Any]:
        from pipeline.orchestrate import rebuild_catalog

        params = get_current_context()["params"]
        until = date.fromisoformat(params["until"]) if params["until"] else datetime.now(UTC).date()
        since = date.fromisoformat(params["since"]) if params["since"] else until - timedelta(days=7)
        if since > until:
            raise ValueError(f"since {since} is after until {until}")
        with in_repo(), bad_input_fails_fast():
            return rebuild_catalog(pipeline_settings(), params["project"], since, until)

    rebuild()


with DAG(
    dag_id="dubflow_voice_enrollment",
    tags=["dubflow", "voices"],
    **BY_HAND,
    doc_md="""
### Enroll voices

Run after editing the voice catalog (`configs/voices.yaml` or the production catalog): every voice's reference
clip is fetched (local path or `s3://`), checked (3–30 s, decodes, mono/stereo, transcript present) and its
content hash recorded in the task's result. The run fails, naming each voice and its problem, if any voice is
unusable.
""",
):

    @task
    def enroll() -> dict[str, Any]:
        from pipeline.orchestrate import enroll_voices

        with in_repo(), bad_input_fails_fast():
            return enroll_voices(pipeline_settings())

    enroll()
