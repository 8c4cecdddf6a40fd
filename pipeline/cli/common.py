"""What every ``dubflow`` sub-command shares: consoles, the --config option, settings and store loading, errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

from pipeline.console import make_console
from pipeline.settings import Settings, load_settings
from pipeline.text import lang as langs

if TYPE_CHECKING:
    from pipeline.storage.store import ObjectStore

console = make_console()
err = make_console(stderr=True)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Settings YAML (default: $DUBFLOW_CONFIG or configs/pipeline.yaml).")
]


def fail(message: object, code: int = 1) -> typer.Exit:
    """Says why in red on stderr, as plain text (paths and keys stay copy-pastable); raise what it returns."""
    err.print(str(message), style="red", markup=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def failing(*errors: type[Exception]) -> Iterator[None]:
    """The errors a command expects end it with their message and exit 1, not a traceback."""
    try:
        yield
    except errors as exc:
        raise fail(exc) from exc


def settings_or_exit(config: Path | None) -> Settings:
    """Settings for a command; a missing or invalid config file is a clear error, not a traceback."""
    try:
        return load_settings(config)
    except (FileNotFoundError, ValidationError) as exc:
        raise fail(f"configuration: {exc}", 2) from exc


def language(tag: str) -> str:
    try:
        return langs.normalize_tag(tag)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--lang") from exc


def store_or_exit(config: Path | None) -> ObjectStore:
    """The configured object store; no endpoint and no local server is exit 2 with what to do."""
    from pipeline.storage.errors import NotConfiguredError
    from pipeline.storage.store import ObjectStore

    try:
        return ObjectStore.from_settings(settings_or_exit(config).storage)
    except NotConfiguredError as exc:
        raise fail(exc, 2) from exc
