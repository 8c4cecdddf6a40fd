"""Identifiers that end up in object keys and file names: checked or derived, never trusted as given.

Every later stage builds keys from these, so this is the one place that decides what an id may contain.
"""

from __future__ import annotations

import re
import unicodedata

MAX_ID_LEN = 64
MAX_TAKE = 99  # a reviewer's retake numbers: 1..MAX_TAKE (0 is the original take)
# Patterns are matched whole (``fullmatch``): a ``$`` would let a trailing newline through.
ID_PATTERN = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9_-])?"
LANG_PATTERN = r"[a-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,2}"
ID_PARAM_PATTERN = rf"^(?!.*\.\.){ID_PATTERN}$"  # the same rule as a JSON-schema pattern (the DAGs' trigger forms)
# Folder names of a version's delivery files other than line clips (``qa/report.html``): no language tag may be one.
RESERVED_LANGS = frozenset({"qa"})
_ID = re.compile(ID_PATTERN)
_LANG = re.compile(LANG_PATTERN)


class InvalidIdError(ValueError):
    pass


def shown(value: object, limit: int = 40) -> str:
    """A value for a message, quoted and escaped: control characters and escape sequences never reach a terminal."""
    text = value if isinstance(value, str) else str(value)
    return ascii(text[:limit]) + ("…" if len(text) > limit else "")


def check_id(value: str, what: str = "id") -> str:
    """Return ``value`` if it is a safe id: letters, digits, ``._-``, no ``..``, ≤64 chars; else raise."""
    if not isinstance(value, str) or not value:
        raise InvalidIdError(f"{what} is empty")
    if len(value) > MAX_ID_LEN:
        raise InvalidIdError(f"{what} {shown(value, 20)} is longer than {MAX_ID_LEN} characters")
    if ".." in value or not _ID.fullmatch(value):
        raise InvalidIdError(
            f"{what} {shown(value)} may only contain letters, digits, '.', '_' and '-', "
            "must start and end with a letter or digit, and may not contain '..'"
        )
    return value


def check_lang(value: str) -> str:
    """A language tag as it may appear in object keys (``en``, ``zh``, ``zh-yue``); raise otherwise."""
    if not isinstance(value, str) or not _LANG.fullmatch(value) or value in RESERVED_LANGS:
        raise InvalidIdError(f"language {shown(value)} is not a language tag such as 'en', 'zh' or 'zh-yue'")
    return value


def _transliterate(value: str) -> str:
    """ASCII for any script (anyascii): a syllable-written character (Han, kana, Hangul) becomes a word of its
    own, so ``红楼梦`` reads ``hong-lou-meng``, not ``hongloumeng``."""
    from anyascii import anyascii

    parts: list[str] = []
    for char in unicodedata.normalize("NFKC", value):
        if char.isascii():
            parts.append(char)
        elif unicodedata.category(char) == "Lo":
            parts.append(f" {anyascii(char)} ")
        else:
            parts.append(anyascii(char))
    return "".join(parts)


def slugify(value: str, fallback: str = "script") -> str:
    """Make a safe id from a free-form name (a file stem): ``Episode 01 (FINAL).srt`` → ``episode-01-final``,
    ``第一集 对白`` → ``di-yi-ji-dui-bai``."""
    slug = re.sub(r"[^a-z0-9._]+", "-", _transliterate(value).lower().replace("-", " "))
    slug = re.sub(r"\.{2,}", ".", slug).strip("-._")[:MAX_ID_LEN].strip("-._")
    return slug or fallback
