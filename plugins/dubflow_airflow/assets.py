"""The asset alias every voicing run publishes through, and the asset of one published version: its project's."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Asset, AssetAlias

PUBLISHED = AssetAlias(name="dubflow-published")


def published_asset(result: dict[str, Any]) -> Asset:
    """``dubflow/<project>``, at the script's prefix in the assets bucket (the manifest URI less ``vN/manifest``)."""
    return Asset(name=f"dubflow/{result['project']}", uri=result["manifest"].rsplit("/", 3)[0] + "/")
