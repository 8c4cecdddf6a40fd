"""The layout the README draws: every import in ``pipeline/`` points down a layer, and nothing there names Airflow."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

# Lowest first; a module may import from its own layer and the ones below it.
LAYERS = [
    {"ids", "digest", "processes", "events", "metrics", "model_parts"},
    {"text", "audio"},
    {"settings"},
    {"scripts", "engines", "storage"},
    {"voices", "lexicon"},
    {"qa"},
    {"compute", "deliver", "review", "hand_trigger", "console", "enrollment"},
    {"chain", "progress"},
    {"orchestrate", "cli"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "pipeline" and len(parts) > 1 else None


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def test_every_import_in_the_library_points_down_a_layer() -> None:
    wrong = []
    for path in sorted((REPO / "pipeline").rglob("*.py")):
        own = path.relative_to(REPO / "pipeline").parts[0].removesuffix(".py")
        if own == "__init__":
            continue
        assert own in RANK, f"{path}: pipeline/{own} is on no layer of tests/test_layers.py (and of the README)"
        for line, module in _imports(path):
            target = _part(module)
            if module.split(".")[0] == "airflow":
                wrong.append(f"{path.relative_to(REPO)}:{line} imports {module} (no Airflow in the library)")
            elif target and target in RANK and RANK[target] > RANK[own]:
                wrong.append(f"{path.relative_to(REPO)}:{line} imports {module}, a layer above {own}")
    assert not wrong, "\n".join(wrong)


def test_the_library_reads_no_airflow_variables() -> None:
    named = [f"{p.relative_to(REPO)}" for p in (REPO / "pipeline").rglob("*.py") if "AIRFLOW_" in p.read_text()]
    assert not named, named


def test_the_dag_forms_use_the_librarys_id_rules() -> None:
    """The trigger form's project pattern once accepted a trailing dot that ``ids.check_id`` refuses."""
    import re

    from pipeline.ids import ID_PARAM_PATTERN, InvalidIdError, check_id

    # (Not "demo\n": Python's "$" admits one trailing newline where the browser's does not; check_id refuses it.)
    for value in ("demo", "acme.tv", "a", "x" * 64, "demo.", "-demo", "a..b", "x" * 65, "ü", "a b"):
        try:
            check_id(value)
            accepted = True
        except InvalidIdError:
            accepted = False
        assert bool(re.search(ID_PARAM_PATTERN, value)) == accepted, value
