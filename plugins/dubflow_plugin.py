"""Registers dubflow with Airflow: the review page (a FastAPI app on the API server) and its tab on each DAG run."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin
from dubflow_airflow.review_app import app as review_app


class DubflowPlugin(AirflowPlugin):
    name = "dubflow"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": review_app, "url_prefix": "/dubflow", "name": "dubflow review"}
    ]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "Review",
            "href": "dubflow/review/{DAG_ID}/{RUN_ID}",  # relative: works under any base path or proxy
            "destination": "dag_run",
            "url_route": "dubflow-review",
            "category": "dubflow",
        },
        {
            "name": "Voice scripts",
            "href": "dubflow/trigger/{DAG_ID}",  # pick inbox scripts instead of typing keys: one run each
            "destination": "dag",
            "url_route": "dubflow-voice-scripts",
            "category": "dubflow",
        },
    ]
