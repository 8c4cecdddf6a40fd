"""Example downstream DAG: runs whenever a dubflow voicing run publishes a version (asset events via the
``dubflow-published`` alias), and lists what arrived. Replace the task with your own hand-off (MAM ingest, QC
ticket, notification)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG, get_current_context, task
from dubflow_airflow.assets import PUBLISHED

with DAG(
    dag_id="dubflow_on_new_assets",
    schedule=[PUBLISHED],
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    tags=["dubflow", "example"],
    doc_md=__doc__,
    default_args={"owner": "dubflow", "retries": 1, "retry_delay": timedelta(seconds=30)},
):

    @task
    def announce() -> list[dict[str, str]]:
        events = get_current_context()["triggering_asset_events"]
        # Each event is filed under its asset and again under the alias it came through: read the alias only.
        arrived = [{"asset": event.asset.name, **event.extra} for event in events[PUBLISHED]]
        for item in arrived:
            print(f"new dubflow version: {item}")
        return arrived

    announce()
