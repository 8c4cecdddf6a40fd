"""JSON (``.json``) and JSON Lines (``.jsonl``) scripts → line objects with the source line each starts on.

A JSON script is a top-level array of line objects, or an object whose top-level ``lines`` is one; nothing else
(a nested array, a second ``lines`` key) is ever taken for the script's lines, so a crafted file cannot get other
text voiced. Each line object is checked against ``LINE_SCHEMA`` (jsonschema): its fields are text, numbers or
null, and every mistake is reported with its JSON path and line. Nesting deeper than ``ingest.max_json_depth``
is refused before parsing (Python's parser would recurse until it fails).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from pipeline.scripts.model import Report

LINE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "a dubflow script line",
    "type": "object",
    "additionalProperties": {"type": ["string", "number", "null"]},
}
_SURROGATE = re.compile("[\ud800-\udfff]")  # a JSON \uXXXX escape can name half a UTF-16 pair
_WHITESPACE = " \t\r\n"


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKeyError(key)
        seen[key] = value
    return seen


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(LINE_SCHEMA)


def max_depth(text: str) -> tuple[int, int]:
    """The deepest nesting of arrays/objects outside strings, and the line where it is first reached."""
    depth = deepest = 0
    line = where = 1
    in_string = escaped = False
    for ch in text:
        if ch == "\n":
            line += 1
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest, where = depth, line
        elif ch in "]}":
            depth -= 1
    return deepest, where


def _check(item: Any, path: str, line: int, report: Report) -> dict[str, Any] | None:
    errors = sorted(_validator().iter_errors(item), key=lambda e: list(map(str, e.path)))
    for error in errors:
        where = path + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
        value = error.instance
        shown = type(value).__name__ if isinstance(value, dict | list) else repr(value)[:40]
        what = "a line must be an object of fields" if not error.path else "a field must be text, a number or null"
        report.error(line, "bad-field" if error.path else "bad-json", f"{where}: {shown} — {what}")
    for key, value in item.items() if isinstance(item, dict) else ():
        if half := _SURROGATE.search(key) or (isinstance(value, str) and _SURROGATE.search(value)):
            code = f"\\u{ord(half.group()):04x}"
            field = key.encode("utf-8", "backslashreplace").decode()  # printable, whatever the key holds
            report.error(line, "bad-field", f"{path}.{field}: {code} is half of a character (an unpaired surrogate)")
            return None
    return None if errors else item


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WHITESPACE:
        pos += 1
    return pos


def _array_items(text: str, start: int) -> Iterator[tuple[int, Any]]:
    """(offset, value) of each element of the array whose ``[`` is at ``start`` (the text is known to be valid)."""
    decoder = json.JSONDecoder()
    pos = _skip(text, start + 1)
    while text[pos] != "]":
        value, end = decoder.raw_decode(text, pos)
        yield pos, value
        pos = _skip(text, end)
        if text[pos] == ",":
            pos = _skip(text, pos + 1)


def _top_level_value(text: str, name: str) -> int | None:
    """Offset of the value of key ``name`` in the top-level object (not of a key of that name deeper inside)."""
    decoder = json.JSONDecoder()
    pos = _skip(text, _skip(text, 0) + 1)
    while text[pos] != "}":
        key, pos = decoder.raw_decode(text, pos)
        pos = _skip(text, _skip(text, pos) + 1)  # the colon
        if key == name:
            return pos
        _, pos = decoder.raw_decode(text, pos)
        pos = _skip(text, pos)
        if text[pos] == ",":
            pos = _skip(text, pos + 1)
    return None


_UNREADABLE = object()


def _load(text: str, line: int, report: Report, depth_limit: int) -> Any:
    """The parsed value, or ``_UNREADABLE`` after reporting why: too deep, not JSON, a key twice in one object."""
    depth, where = max_depth(text)
    if depth > depth_limit:
        report.error(line + where - 1, "bad-json", f"nested {depth} levels deep; a script is at most {depth_limit}")
        return _UNREADABLE
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        report.error(line + exc.lineno - 1, "bad-json", f"invalid JSON: {exc.msg} (column {exc.colno})")
    except _DuplicateKeyError as exc:
        report.error(line, "bad-json", f"key {str(exc)!r} appears twice in one object: which one counts is unclear")
    return _UNREADABLE


def json_items(text: str, report: Report, depth_limit: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """Line objects of a JSON script, with the line each starts on; problems go to ``report``."""
    whole = _load(text, 1, report, depth_limit)
    if whole is _UNREADABLE:
        return
    if isinstance(whole, list):
        start, path = _skip(text, 0), "$"
    elif isinstance(whole, dict) and isinstance(whole.get("lines"), list):
        start, path = _top_level_value(text, "lines"), "$.lines"
        unknown = sorted(set(whole) - {"lines"})
        if unknown:
            report.warning(1, "unknown-column", f"top-level key(s) {', '.join(map(repr, unknown))} are ignored")
    else:
        report.error(1, "bad-json", 'expected a list of line objects, or an object {"lines": [...]} at the top')
        return
    assert start is not None
    for index, (offset, item) in enumerate(_array_items(text, start)):
        line = text.count("\n", 0, offset) + 1
        checked = _check(item, f"{path}[{index}]", line, report)
        if checked is not None:
            yield line, checked


def jsonl_items(text: str, report: Report, depth_limit: int) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        item = _load(line, number, report, depth_limit)
        if item is not _UNREADABLE and (checked := _check(item, f"line {number}: $", number, report)) is not None:
            yield number, checked
