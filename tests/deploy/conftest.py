"""Static checks of the deployment files (no Docker engine runs on CI): helpers shared by the two test modules."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKER_DIR = REPO / "docker"

# `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?error}`, `${NAME?error}`, `${NAME:+alt}`, `$NAME`;
# `$$` is a literal dollar for the container's shell and is skipped.
_VAR = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")


def interpolations(text: str) -> list[tuple[str, bool]]:
    """Every variable compose interpolates in ``text``: (name, braced)."""
    found = []
    for chunk in text.split("$$"):
        for match in _VAR.finditer(chunk):
            name = match.group("braced") or match.group("bare")
            found.append((name, match.group("braced") is not None))
    return found


def var_names(value: Any) -> set[str]:
    """Names of the variables a (string) compose value interpolates."""
    return {name for name, _ in interpolations(value)} if isinstance(value, str) else set()


def default_of(value: str, name: str) -> str | None:
    """The ``:-`` default of ``${name:-default}`` in value (None when it has none)."""
    match = re.search(r"\$\{" + re.escape(name) + r":?-([^}]*)\}", value)
    return match.group(1) if match else None


def parse_env_file(text: str) -> dict[str, str]:
    """KEY=value lines of a compose .env file (comments and blank lines skipped; one level of quotes removed)."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f".env line without '=': {raw!r}"
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a dict (compose accepts a mapping or a list of KEY=VALUE)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def command_args(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else [str(arg) for arg in command]


def option(args: list[str], flag: str) -> str | None:
    """The value following ``flag`` in an argument list (None when absent)."""
    return args[args.index(flag) + 1] if flag in args and args.index(flag) + 1 < len(args) else None


@pytest.fixture(scope="session")
def compose_text() -> str:
    return COMPOSE_FILE.read_text(encoding="utf-8")


@pytest.fixture()
def compose(compose_text: str) -> dict[str, Any]:
    """docker-compose.yml parsed (anchors and merge keys resolved): a fresh copy per test whose aliases are
    unshared (a JSON round trip), so a test may mutate one service without changing the others."""
    return json.loads(json.dumps(yaml.safe_load(compose_text)))


@pytest.fixture(scope="session")
def env_example() -> dict[str, str]:
    return parse_env_file(ENV_EXAMPLE.read_text(encoding="utf-8"))
