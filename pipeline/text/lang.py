"""Language of a line when the script does not say: Han characters mean Mandarin, anything else the default."""

from __future__ import annotations

import re

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_TAG = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$")


def has_han(text: str) -> bool:
    return _HAN.search(text) is not None


def detect(text: str, default: str) -> str:
    return "zh" if has_han(text) else default


def normalize_tag(tag: str) -> str:
    """``zh-CN`` → ``zh-cn``; raises ``ValueError`` for anything that is not a BCP-47-shaped language tag."""
    value = tag.strip().replace("_", "-").lower()
    if not _TAG.match(value):
        raise ValueError(f"'{tag}' is not a language tag (expected e.g. en, zh, yue, en-us)")
    return value


def primary(tag: str) -> str:
    """``zh-cn`` → ``zh``: engines and normalizers choose by the primary subtag."""
    return tag.split("-", 1)[0]
