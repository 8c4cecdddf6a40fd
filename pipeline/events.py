"""Structured log events about lines: one line can be followed from the orchestrator's log to the worker that
spoke it by grepping its id.

Every event about a line is a stdlib log record whose message is ``<script> <line> <event> [<verdict>] key=value …``
(logfmt, the run's long ids last: ``message``) and which carries
the same fields as record attributes (``extra=``): ``run_id``, ``project``, ``script_id``, ``line_id`` and the
event's own fields (``engine``, ``worker``, ``seconds``, ``reason``, …). Plain-text handlers (Airflow's task log, a
worker's stderr, Dask's worker log page) show the ids in the message; structured handlers (JSON) get the
attributes.

Dask workers do not inherit the client's context, so the run's identity travels with every batch as a ``RunTag``
(the line's own ids are in its ``Job``). Workers log ``pipeline.*`` events at INFO to their stderr (when nothing
else is configured) and to Dask's worker log (``client.get_worker_logs()``, the dashboard's worker logs).
"""

from __future__ import annotations

import json
import logging
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

LOGGER = "pipeline"
# LogRecord's own attributes: an extra= field with one of these names would raise, so it gets a prefix instead.
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


@dataclass(frozen=True)
class RunTag:
    """Which run a batch belongs to: travels to the workers with every Dask task."""

    run_id: str
    project: str


def new_run_id() -> str:
    """For runs no orchestrator named (``dubflow run``): sortable and unique."""
    return f"local-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def _value(value: Any) -> str:
    if isinstance(value, float):
        text = f"{value:.3f}"
    elif isinstance(value, (list, tuple)):
        text = ",".join(str(v) for v in value)
    else:
        text = str(value)
    if not text or any(c.isspace() or c in '"=' for c in text):
        return json.dumps(text, ensure_ascii=False)
    return text


def logfmt(fields: dict[str, Any]) -> str:
    return " ".join(f"{key}={_value(value)}" for key, value in fields.items())


def fields_of(tag: RunTag | None, script_id: str | None, line_id: str | None = None, **more: Any) -> dict[str, Any]:
    ids = {"run_id": tag.run_id if tag else "", "project": tag.project if tag else "", "script_id": script_id or ""}
    if line_id is not None:
        ids["line_id"] = line_id
    return {**ids, **{key: value for key, value in more.items() if value is not None}}


_LEAD = ("script_id", "line_id")  # what a person scans a task log for, before the event
_LAST = ("run_id", "project", "script_id", "line_id")  # long ids last: still greppable as key=value


def message(event: str, fields: dict[str, Any]) -> str:
    """``<script> <line> <event> <verdict> key=value … run_id=… project=… script_id=… line_id=…``: the words a
    reader looks for first (an Airflow log line shows ~100 characters), the ids a grep needs after the details."""
    head = [str(fields[key]) for key in _LEAD if fields.get(key)] + [event]
    if fields.get("verdict"):
        head.append(str(fields["verdict"]))
    rest = {key: value for key, value in fields.items() if key not in _LAST and key != "verdict"}
    rest |= {key: fields[key] for key in _LAST if key in fields}
    return f"{' '.join(head)} {logfmt(rest)}".rstrip()


def emit(
    logger: logging.Logger, event: str, fields: dict[str, Any], level: int = logging.INFO, stacklevel: int = 2
) -> None:
    """Log ``event`` with ``fields``; the record's file, line and function are the caller's (``stacklevel``)."""
    if not logger.isEnabledFor(level):
        return
    extra = {("dubflow_" + key if key in _RESERVED else key): value for key, value in fields.items()}
    logger.log(level, "%s", message(event, fields), extra={"dubflow_event": event, **extra}, stacklevel=stacklevel)


def line_event(
    logger: logging.Logger, event: str, tag: RunTag | None, line: Any, level: int = logging.INFO, **more: Any
) -> None:
    """An event about one line (a ``Line``: its ``script_id`` and ``line_id``)."""
    emit(logger, event, fields_of(tag, line.script_id, line.line_id, **more), level, stacklevel=3)


def script_event(
    logger: logging.Logger, event: str, tag: RunTag | None, script_id: str, level: int = logging.INFO, **more: Any
) -> None:
    emit(logger, event, fields_of(tag, script_id, **more), level, stacklevel=3)


_MARK = "_dubflow_worker_handler"


def configure_worker_logging(worker: Any = None, level: int | str = logging.INFO) -> None:
    """On a Dask worker: make ``pipeline.*`` events visible from ``level`` (``dask.worker_log_level``) up.
    Idempotent (every plugin set-up calls it).

    - the ``pipeline`` logger is set to ``level`` unless something else configured it already;
    - when the process has no logging set up (``dask worker``/``dask cuda worker``, spawned local workers), a
      stderr handler in Dask's log format is added — what the container's or the node's log collects;
    - Dask's own in-memory worker log (``client.get_worker_logs()``, the dashboard) receives them too.
    """
    logger = logging.getLogger(LOGGER)
    if logger.level == logging.NOTSET or getattr(logger, _MARK, False):
        logger.setLevel(level)
        setattr(logger, _MARK, True)
    if not logging.getLogger().handlers and not any(getattr(h, _MARK, False) for h in logger.handlers):
        import dask.config

        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(dask.config.get("distributed.admin.log-format")))
        setattr(handler, _MARK, True)
        logger.addHandler(handler)
    deque = getattr(worker, "_deque_handler", None)  # distributed's worker log (a private attribute: optional)
    if isinstance(deque, logging.Handler) and deque not in logger.handlers:
        logger.addHandler(deque)
