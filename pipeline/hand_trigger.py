"""Voicing inbox scripts by hand: the scripts on offer to pick from, and the run each pick asks for.

A content team picks scripts from the inbox instead of typing keys; each picked script becomes one DAG run whose
conf is exactly what the trigger form would send (Airflow validates it against the DAG's params). No Airflow here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.ids import ID_PARAM_PATTERN, shown
from pipeline.scripts.formats import FORMATS
from pipeline.storage.inbox import InboxItem, discover
from pipeline.storage.store import ObjectStore

MAX_PICKED = 50  # scripts one submission may queue (one run each)
_RECAST = re.compile(r"^\s*(?P<speaker>[^=]+?)\s*=\s*(?P<voice>\S+)\s*$")
_REFUSED = re.compile(r"Invalid input for param (?P<field>\w+): (?P<why>.*)", re.S)


class TriggerError(ValueError):
    """A hand trigger that cannot be queued as asked: the message names the field (and line) at fault."""


@dataclass(frozen=True)
class Offered:
    item: InboxItem
    kind: str | None  # dubbing / narration; None when no format reads the file (its run reports why)

    @property
    def key(self) -> str:
        return self.item.key


def offered_scripts(
    store: ObjectStore, project: str, kinds: Collection[str], days: int = 7, today: date | None = None
) -> list[Offered]:
    """The scripts of ``kinds`` that arrived for ``project`` in the last ``days`` days, newest first."""
    if not re.fullmatch(ID_PARAM_PATTERN, project):
        raise TriggerError(f"project: {shown(project)} is not a project id (letters, digits, '.', '_', '-')")
    if not 1 <= days <= 366:
        raise TriggerError(f"days: {days} is not between 1 and 366")
    end = (today or datetime.now(UTC).date()) + timedelta(days=1)
    items = discover(store, project, end - timedelta(days=days), end)
    offered = [
        Offered(item, fmt.kind if (fmt := FORMATS.get(Path(item.name).suffix.lower())) else None) for item in items
    ]
    offered = [o for o in offered if o.kind is None or o.kind in kinds]
    return sorted(offered, key=lambda o: (o.item.day, o.item.last_modified or datetime.min.replace(tzinfo=UTC)),
                  reverse=True)  # fmt: skip


def parse_recast(text: str) -> dict[str, str]:
    """``SPEAKER = voice-id``, one per line (blank lines and ``#`` comments skipped): the form's recast box."""
    recast: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _RECAST.match(line)
        if not match:
            raise TriggerError(f"voices, line {number}: {shown(line)} is not 'SPEAKER = voice-id'")
        speaker, voice = match.group("speaker"), match.group("voice")
        if not re.fullmatch(ID_PARAM_PATTERN, voice):
            raise TriggerError(f"voices, line {number}: {shown(voice)} is not a voice id")
        if speaker in recast:
            raise TriggerError(f"voices, line {number}: {shown(speaker)} is recast twice")
        recast[speaker] = voice
    return recast


def run_conf(project: str, script_key: str, options: dict[str, Any]) -> dict[str, Any]:
    """One run's conf; an empty engine or recast is left out (the DAG's default: each voice's own)."""
    conf = {"project": project, "script_key": script_key}
    conf |= {k: v for k, v in options.items() if k not in ("engine", "voices") or v}
    return conf


def conf_digest(conf: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(conf, sort_keys=True).encode()).hexdigest()[:8]


def run_id(conf: dict[str, Any], now: datetime | None = None) -> str:
    """``manual__<time>__<script>__<digest of the conf>``: the runs list names the script; the same submission
    within a minute is the same id, and one still queued or running is found by its digest (``pending_twin``)."""
    moment = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M")
    name = re.sub(r"[^A-Za-z0-9_.~:+-]", "-", conf["script_key"].rsplit("/", 1)[-1])[:80]  # Airflow's run id rule
    return f"manual__{moment}__{name}__{conf_digest(conf)}"


def pending_twin(conf: dict[str, Any], runs: list[dict[str, Any]]) -> str | None:
    """A run of the same submission that has not finished (a double click, a second tab): that one, not another."""
    suffix = f"__{conf_digest(conf)}"
    return next((r["dag_run_id"] for r in runs if r["dag_run_id"].endswith(suffix) and r.get("conf") == conf), None)


def explain_refusal(status: int, detail: str) -> str:
    """Airflow's answer to a refused trigger, with the field it names first (its UI shows only "Bad Request")."""
    if match := _REFUSED.search(detail):
        return f"{match.group('field')}: {match.group('why').strip()}"
    return f"Airflow refused the run (HTTP {status}): {detail[:500]}"
