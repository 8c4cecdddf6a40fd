"""Maintenance DAGs for data engineers: rebuild the asset catalog for a date range, and enroll voices.

``dubflow_catalog_backfill`` re-derives catalog parts from the published manifests (after a backfill of the
voicing DAGs, or a lost part); it never rewrites assets. ``dubflow_voice_enrollment`` enrolls every new voice
(``pipeline.enrollment.enroll``): its reference clip checked, prepared, transcribed and stored with the voice.
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

Run after adding a voice to the catalog (`configs/voices.yaml` or the production catalog). Every voice without a
current enrollment gets one: its reference clip (local path or `s3://`) is checked — sample rate, 2.5–29.5 s of
speech, level, noise, clipping, one speaker — trimmed, leveled, heard by the multilingual Whisper model (its
transcript is the prompt unless the catalog gives `reference_text`, which it is compared with) and stored with the
voice in `inbox/voices/<voice>/`; a CPU voice
speaks a reference passage with its own engine, so QA's speaker-similarity check can tell it from a fallback.
Voices already enrolled with the same clip are kept; *force* enrolls them again. The run fails at the end, naming
each refused voice and why. Correct a Whisper transcript with `dubflow voices transcript` or on the Review tab.
""",
    params={
        "voices": Param([], type="array", items={"type": "string"}, description="Voice ids (default: every voice)"),
        "force": Param(False, type="boolean", description="Enroll again even when the enrollment is current"),
    },
):

    @task
    def enroll() -> dict[str, Any]:
        from pipeline.orchestrate import enroll_voices

        params = get_current_context()["params"]
        with in_repo(), bad_input_fails_fast():
            return enroll_voices(pipeline_settings(), list(params["voices"]) or None, bool(params["force"]))

    enroll()
