"""The simple lexicon form, for people who write it by hand::

    lang: en                       # the entries' language unless one says otherwise (omit: every language)
    words:
      SQL: sequel                  # a bare string is an alias: said as written
      Nguyen: {arpabet: N W IH1 N}
      Siobhan: {ipa: ʃɪˈvɔːn}
      西安: {pinyin: xi1 an1}       # pinyin entries are Mandarin
      NASA: {alias: nasa, match_case: true}

Every problem names its line in the file.
"""

from __future__ import annotations

from typing import Any

import yaml

from pipeline.lexicon.entries import ALPHABETS, make_entry
from pipeline.lexicon.model import Entry
from pipeline.scripts.model import Report

_KEYS = {*ALPHABETS, "lang", "match_case"}


class _LineLoader(yaml.SafeLoader):
    """Safe loading that remembers the line of every mapping key (``{key: (value, line)}``)."""


def _construct(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, tuple[Any, int]]:
    out = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[key] = (loader.construct_object(value_node, deep=True), key_node.start_mark.line + 1)
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct)


def parse_yaml(data: bytes, report: Report) -> list[Entry]:
    try:
        doc = yaml.load(data.decode("utf-8-sig"), Loader=_LineLoader)  # a SafeLoader subclass
    except UnicodeDecodeError as exc:
        report.error(None, "lexicon-encoding", f"not UTF-8: {exc}")
        return []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        report.error(mark.line + 1 if mark else None, "lexicon-yaml", f"not valid YAML: {getattr(exc, 'problem', exc)}")
        return []
    if not isinstance(doc, dict) or "words" not in doc:
        report.error(None, "lexicon-shape", "expected a mapping with 'words' (and optionally 'lang')")
        return []
    unknown = sorted(str(k) for k in doc if k not in ("lang", "words"))
    for key in unknown:
        report.error(doc[key][1], "lexicon-unknown-key", f"unknown key '{key}' (expected lang, words)")
    lang = _plain(doc.get("lang", (None, 0))[0])
    words, line = doc["words"]
    if not isinstance(words, dict):
        report.error(line, "lexicon-shape", "'words' must map each word to its pronunciation")
        return []
    entries = []
    for word, (spec, line) in words.items():
        if (entry := _entry(report, line, str(word), spec, lang)) is not None:
            entries.append(entry)
    return entries


def _entry(report: Report, line: int, word: str, spec: Any, lang: str | None) -> Entry | None:
    if isinstance(spec, str):
        return make_entry(report, line, word, "alias", spec, None, False, lang)
    if not isinstance(spec, dict):
        report.error(line, "lexicon-shape", f"'{word}': expected an alias or a mapping like {{arpabet: N W IH1 N}}")
        return None
    fields = {key: value for key, (value, _) in spec.items()}
    if unknown := sorted(str(k) for k in fields if k not in _KEYS):
        report.error(line, "lexicon-unknown-key", f"'{word}': unknown key(s) {', '.join(unknown)}")
        return None
    given = [a for a in ALPHABETS if a in fields]
    if len(given) != 1:
        report.error(line, "lexicon-shape", f"'{word}': give exactly one of {', '.join(ALPHABETS)}")
        return None
    match_case = fields.get("match_case", False)
    if not isinstance(match_case, bool):
        report.error(line, "lexicon-shape", f"'{word}': match_case is true or false")
        return None
    value = fields[given[0]]
    value = " ".join(map(str, value)) if isinstance(value, list) else str(value)
    return make_entry(report, line, word, given[0], value, _plain(fields.get("lang")), match_case, lang)


def _plain(value: Any) -> str | None:
    return None if value is None else str(value)
