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


def slugify(value: str, fallback: str = "script") -> str:
    """Make a safe id from a free-form name (a file stem): ``Episode 01 (FINAL).srt`` → ``episode-01-final``."""
    ascii_form = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9._-]+", "-", ascii_form.lower())
    slug = re.sub(r"\.{2,}", ".", slug).strip("-._")[:MAX_ID_LEN].strip("-._")
    return slug or fallback
