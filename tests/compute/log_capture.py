"""A log handler that test code installs on real Dask workers (``client.run``) to read back what they logged."""

from __future__ import annotations

import logging
from typing import Any

_records: list[dict[str, Any]] = []
_SKIP = {"args", "msg", "exc_info", "exc_text", "stack_info"}


class _Capture(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        fields = {
            k: v
            for k, v in vars(record).items()
            if k not in _SKIP and isinstance(v, str | int | float | bool | list | tuple | type(None))
        }
        _records.append({**fields, "message": record.getMessage()})


_handler: _Capture | None = None


def install() -> None:
    """Capture every ``pipeline.*`` record from now on (the level is left as the worker set it)."""
    global _handler
    if _handler is None:
        _handler = _Capture()
        logging.getLogger("pipeline").addHandler(_handler)
    _records.clear()


def records() -> list[dict[str, Any]]:
    return list(_records)


def remove() -> None:
    global _handler
    if _handler is not None:
        logging.getLogger("pipeline").removeHandler(_handler)
        _handler = None
    _records.clear()
