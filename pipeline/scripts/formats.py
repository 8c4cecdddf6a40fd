"""Every script format dubflow reads, in one table: suffix → format name and kind (dubbing or narration).

The readers (``subtitles``, ``linesheet``, ``manuscript``), the inbox's key rule and the DAGs' file kinds all read
this table, so a suffix ingest accepts is a suffix the inbox accepts.
"""

from __future__ import annotations

from typing import Literal, NamedTuple


class Format(NamedTuple):
    name: str
    family: Literal["subtitles", "linesheet", "manuscript"]  # the module that reads it

    @property
    def kind(self) -> Literal["dubbing", "narration"]:
        return "narration" if self.family == "manuscript" else "dubbing"


FORMATS: dict[str, Format] = {
    ".srt": Format("srt", "subtitles"), ".vtt": Format("vtt", "subtitles"), ".ass": Format("ass", "subtitles"),
    ".ssa": Format("ssa", "subtitles"), ".csv": Format("csv", "linesheet"), ".tsv": Format("tsv", "linesheet"),
    ".xlsx": Format("xlsx", "linesheet"), ".json": Format("json", "linesheet"), ".jsonl": Format("jsonl", "linesheet"),
    ".md": Format("markdown", "manuscript"), ".markdown": Format("markdown", "manuscript"),
    ".txt": Format("text", "manuscript"),
}  # fmt: skip


def suffixes(family: str | None = None, kind: str | None = None) -> frozenset[str]:
    return frozenset(s for s, f in FORMATS.items() if family in (None, f.family) and kind in (None, f.kind))
