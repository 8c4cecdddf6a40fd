"""dubflow as an Airflow provider: ``provider.yaml`` (Airflow's own format) read for the entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def get_provider_info() -> dict[str, Any]:
    return yaml.safe_load((Path(__file__).with_name("provider.yaml")).read_text())
