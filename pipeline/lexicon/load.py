"""Lexicon files → one project lexicon: the table of formats, and where a project's lexicon is stored.

A project's lexicon is every file under ``{project}/lexicon/`` in the inbox bucket (where the studio puts the
project's scripts), read in key order. The same word given twice for one language is an error naming both places:
which one is meant cannot be guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from pipeline.lexicon.model import Entry, Lexicon
from pipeline.lexicon.pls import parse_pls
from pipeline.lexicon.yaml_form import parse_yaml
from pipeline.scripts.model import Problem, Report
from pipeline.storage.keys import lexicon_key, lexicon_prefix

Parser = Callable[[bytes, Report], list[Entry]]
FORMATS: dict[str, Parser] = {".pls": parse_pls, ".yaml": parse_yaml, ".yml": parse_yaml}
MAX_BYTES = 2_000_000  # a lexicon is a word list, not a dictionary dump


class LexiconError(ValueError):
    """A project's lexicon has errors: nothing is voiced with half of it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems[:5]) + ("; …" if len(problems) > 5 else ""))


def read_file(name: str, data: bytes) -> tuple[list[Entry], list[Problem]]:
    """One file's entries and problems (``name`` is what messages call it: a path or an object key)."""
    report = Report(name)
    parse = FORMATS.get(PurePosixPath(name).suffix.lower())
    if parse is None:
        report.error(None, "lexicon-format", f"not a lexicon file (expected one of {', '.join(FORMATS)})")
    elif len(data) > MAX_BYTES:
        report.error(None, "lexicon-too-large", f"{len(data):,} bytes; a lexicon may have {MAX_BYTES:,}")
    else:
        return parse(data, report), report.summarized()
    return [], report.summarized()


def build(files: Iterable[tuple[str, bytes]]) -> Lexicon:
    """The lexicon of these files; raises ``LexiconError`` with every problem of every file."""
    entries: list[Entry] = []
    problems: list[Problem] = []
    for name, data in files:
        found, trouble = read_file(name, data)
        entries.extend(found)
        problems.extend(trouble)
    kept: dict[str, list[Entry]] = {}  # spelling (casefolded unless match_case) → entries so far
    for entry in entries:
        same = kept.setdefault(entry.spelling, [])
        overlapping = [e for e in same if e.lang is None or entry.lang is None or e.lang == entry.lang]
        if first := next((e for e in overlapping if e.value != entry.value or e.kind != entry.kind), None):
            file, _, line = entry.source.rpartition(":")
            message = f"'{entry.grapheme}' is also given at {first.source}, differently"
            problems.append(Problem(file or entry.source, int(line) if line.isdigit() else None, "error",
                                    "lexicon-duplicate", message))  # fmt: skip
        elif not overlapping:  # the same pronunciation twice is kept once
            same.append(entry)
    if errors := [p for p in problems if p.severity == "error"]:
        raise LexiconError(errors)
    return Lexicon([e for group in kept.values() for e in group])


def _stored(store: Any, project: str) -> list[tuple[str, bytes]]:
    objects = sorted(store.list("inbox", lexicon_prefix(project)), key=lambda o: o.key)
    return [(o.key, store.get_bytes("inbox", o.key)) for o in objects if not o.key.endswith("/")]


def project_lexicon(store: Any, project: str) -> Lexicon:  # store: pipeline.storage.store.ObjectStore
    """The project's lexicon from object storage (empty when it has none)."""
    return build(_stored(store, project))


def store_lexicon(store: Any, project: str, name: str, data: bytes) -> tuple[str, int]:
    """Check one lexicon file and store it with the project (replacing a file of the same name); returns its key
    and entry count. Raises ``LexiconError`` (and stores nothing) when the file, or the project's lexicon with it,
    has errors."""
    entries, problems = read_file(name, data)
    if problems:
        raise LexiconError(problems)
    key = lexicon_key(project, name)
    build([*(item for item in _stored(store, project) if item[0] != key), (key, data)])
    store.put_bytes("inbox", key, data)
    return key, len(entries)


def store_sample_lexicons(store: Any, project: str, samples: Path) -> list[str]:
    """``samples/lexicon/*`` (the demo's lexicon) stored with ``project``; returns their keys."""
    folder = samples / "lexicon"
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in FORMATS) if folder.is_dir() else []
    return [store_lexicon(store, project, path.name, path.read_bytes())[0] for path in files]
