"""Identifiers that end up in object keys and file names: checked or derived, never trusted as given.

Every later stage builds keys from these, so this is the one place that decides what an id may contain.
"""

from __future__ import annotations

import re
import unicodedata

MAX_ID_LEN = 64
_ID = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9_-])?$")


class InvalidIdError(ValueError):
    pass


def check_id(value: str, what: str = "id") -> str:
    """Return ``value`` if it is a safe id: letters, digits, ``._-``, no ``..``, ≤64 chars; else raise."""
    if not isinstance(value, str) or not value:
        raise InvalidIdError(f"{what} is empty")
    if len(value) > MAX_ID_LEN:
        raise InvalidIdError(f"{what} '{value[:20]}…' is longer than {MAX_ID_LEN} characters")
    if ".." in value or not _ID.match(value):
        raise InvalidIdError(
            f"{what} '{value}' may only contain letters, digits, '.', '_' and '-', "
            "must start and end with a letter or digit, and may not contain '..'"
        )
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
