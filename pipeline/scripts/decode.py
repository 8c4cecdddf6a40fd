"""Script bytes → text, for the encodings scripts actually arrive in.

Order: a BOM decides (UTF-8/16/32); then UTF-32 or UTF-16 without BOM when the pattern of NUL bytes says so
(before UTF-8, which NULs are valid in: "H\0e\0l\0" would read as "H e l"); then strict UTF-8; then
charset-normalizer picks among the configured fallbacks (``ingest.fallback_encodings``: GB18030, Big5,
Shift-JIS, EUC-KR, Windows-1252/1250/1251 by default), the earlier one winning a tie, which it leaves to chance
for close relatives such as Windows-1252 and -1250. A guessed encoding is reported, since a wrong guess reads as
other letters. When nothing fits, the error names the line and byte that broke UTF-8, which an author can fix.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f]+")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class DecodeError(ValueError):
    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str
    guessed: bool = False  # chosen by charset-normalizer among the fallbacks, not known from the bytes


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _nul_share(data: bytes, offset: int, step: int) -> float:
    column = data[offset::step]
    return column.count(0) / len(column)


def _wide_without_bom(data: bytes) -> str | None:
    """UTF-32/UTF-16 (LE or BE) from where the NUL bytes fall; None when the data holds no such pattern."""
    if len(data) < 4 or 0 not in data:
        return None
    if len(data) % 4 == 0:
        shares = [_nul_share(data, k, 4) for k in range(4)]
        if shares[2] > 0.9 and shares[3] > 0.9 and shares[0] < 0.05:
            return "utf-32-le"
        if shares[0] > 0.9 and shares[1] > 0.9 and shares[3] < 0.05:
            return "utf-32-be"
    if len(data) % 2 == 0:
        even, odd = _nul_share(data, 0, 2), _nul_share(data, 1, 2)
        if odd > 0.3 and even < 0.05:
            return "utf-16-le"
        if even > 0.3 and odd < 0.05:
            return "utf-16-be"
    return None


def _isolated_cjk(text: str) -> bool:
    """Most CJK characters stand alone between Latin letters, digits and spaces: what a double-byte encoding makes
    of a Latin file's few accented bytes (cp1252 ``84°F`` read as GB18030 is ``84癋``), never real CJK text."""
    runs = [len(run) for run in _CJK_RUN.findall(text)]
    return bool(runs) and sum(1 for r in runs if r == 1) > len(runs) / 2


def _best_fallback(data: bytes, fallbacks: list[str]) -> tuple[str, str] | None:
    """(text, encoding) of charset-normalizer's best reading among ``fallbacks``. Short files often tie, so the
    tie goes to a reading that looks like text (see ``_isolated_cjk``), then to the earlier name in the list."""
    rank = {name: i for i, name in enumerate(fallbacks)}
    best: tuple[tuple[int, float, float, int], str, str] | None = None
    for match in from_bytes(data, cp_isolation=fallbacks):
        text = str(match)
        name = min((n for n in (match.encoding, *match.could_be_from_charset) if n in rank), key=rank.get, default=None)
        key = (int(_isolated_cjk(text)), round(match.chaos, 3), -round(match.coherence, 3), rank.get(name, len(rank)))
        if best is None or key < best[0]:
            best = (key, text, name or match.encoding)
    return None if best is None else (best[1], best[2])


def decode(data: bytes, fallbacks: list[str], encoding: str | None = None) -> Decoded:
    """Decode script bytes; ``encoding`` forces one. Newlines come back as ``\\n`` whatever the file used."""
    if encoding:
        try:
            return Decoded(_newlines(data.decode(encoding)), encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise _error(data, exc, f"cannot decode as {encoding}") from exc
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                return Decoded(_newlines(data.decode(name).lstrip("\ufeff")), name.replace("-sig", ""))
            except UnicodeDecodeError as exc:
                raise _error(data, exc, f"starts with a {name} byte-order mark but is not valid {name}") from exc
    if (wide := _wide_without_bom(data)) is not None:
        try:
            return Decoded(_newlines(data.decode(wide)), wide)
        except UnicodeDecodeError:
            pass
    try:
        return Decoded(_newlines(data.decode("utf-8")), "utf-8")
    except UnicodeDecodeError as utf8_error:
        first_error = utf8_error
    if fallbacks:
        best = _best_fallback(data, fallbacks)
        if best is not None:
            return Decoded(_newlines(best[0]), best[1], guessed=True)
    tried = ", ".join(["utf-8", "utf-16", "utf-32", *fallbacks])
    raise _error(data, first_error, f"undecodable bytes (tried {tried}; pass an explicit encoding)")


def _error(data: bytes, exc: Exception, what: str) -> DecodeError:
    if isinstance(exc, UnicodeDecodeError) and len(exc.object) == len(data):
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 4].hex(" ")
        return DecodeError(f"{what}: byte {exc.start} (line {line}) is {bad}", line)
    return DecodeError(f"{what}: {exc}", None)
