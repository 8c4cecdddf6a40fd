"""Script bytes → text, for the encodings scripts actually arrive in.

Order: a BOM decides (UTF-8/16/32); then strict UTF-8; then UTF-16 without BOM when the NUL pattern says so;
then charset-normalizer picks among the configured fallbacks (GB18030 by default: GBK/GB2312 Chinese subtitles).
When nothing fits, the error names the line and byte that broke UTF-8, which is what an author can fix.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from charset_normalizer import from_bytes

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


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _utf16_without_bom(data: bytes) -> str | None:
    if len(data) < 4 or len(data) % 2:
        return None
    even_nul = data[0::2].count(0) / (len(data) / 2)
    odd_nul = data[1::2].count(0) / (len(data) / 2)
    if odd_nul > 0.3 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.3 and odd_nul < 0.05:
        return "utf-16-be"
    return None


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
    try:
        return Decoded(_newlines(data.decode("utf-8")), "utf-8")
    except UnicodeDecodeError as utf8_error:
        first_error = utf8_error
    if (utf16 := _utf16_without_bom(data)) is not None:
        try:
            return Decoded(_newlines(data.decode(utf16)), utf16)
        except UnicodeDecodeError:
            pass
    if fallbacks:
        best = from_bytes(data, cp_isolation=fallbacks).best()
        if best is not None:
            return Decoded(_newlines(str(best)), best.encoding)
    tried = ", ".join(["utf-8", "utf-16", *fallbacks])
    raise _error(data, first_error, f"undecodable bytes (tried {tried}; pass an explicit encoding)")


def _error(data: bytes, exc: Exception, what: str) -> DecodeError:
    if isinstance(exc, UnicodeDecodeError) and len(exc.object) == len(data):
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 4].hex(" ")
        return DecodeError(f"{what}: byte {exc.start} (line {line}) is {bad}", line)
    return DecodeError(f"{what}: {exc}", None)
