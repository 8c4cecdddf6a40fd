"""Every pinyin syllable renders to tokens that upstream's CosyVoice3 tokenizer really has.

The vocabulary is read from upstream's own tokenizer source (not from our copy), so a change upstream or a slip in
our table fails here.
"""

from __future__ import annotations

import ast

import pytest

from pipeline.engines import cosyvoice_tokens
from pipeline.text import arpabet
from pipeline.text.markup import EVENTS
from pipeline.text.pinyin import _valid_bases, to_canonical
from tests.upstream.source import upstream_root


@pytest.fixture(scope="module")
def upstream_vocab() -> frozenset[str]:
    source = (upstream_root() / "CosyVoice" / "cosyvoice" / "tokenizer" / "tokenizer.py").read_text()
    tree = ast.parse(source)
    cls = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "CosyVoice3Tokenizer")
    tokens = next(
        ast.literal_eval(node.value)
        for node in ast.walk(cls)
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "special_tokens"
    )["additional_special_tokens"]
    assert len(tokens) > 200
    return frozenset(tokens)


def all_syllables() -> list[str]:
    return [f"{base}{tone}" for base in sorted(_valid_bases()) for tone in range(1, 6)]


def test_every_syllable_renders_to_upstream_tokens(upstream_vocab: frozenset[str]) -> None:
    syllables = all_syllables()
    assert len(syllables) == 2130  # 426 toneless syllables in pypinyin's dictionary × 5 tones
    rendered = {s: cosyvoice_tokens.render(s).tokens for s in syllables}
    missing = {s: tokens for s, tokens in rendered.items() if not all(f"[{t}]" in upstream_vocab for t in tokens)}
    assert missing == {}


def test_our_table_is_upstreams(upstream_vocab: frozenset[str]) -> None:
    ours = {f"[{t}]" for t in cosyvoice_tokens.INITIALS | cosyvoice_tokens.FINALS}
    upstream_pinyin = {t for t in upstream_vocab if t.startswith("[") and t[1:-1].islower() and t[1:-1] not in EVENTS}
    assert ours == upstream_pinyin


def test_arpabet_and_events_are_upstream_tokens(upstream_vocab: frozenset[str]) -> None:
    phones = [f"[{p}{s}]" for p in arpabet.VOWELS for s in ("", "0", "1", "2")]
    phones += [f"[{p}]" for p in arpabet.CONSONANTS]
    assert [p for p in phones if p not in upstream_vocab] == []
    assert [e for e in sorted(EVENTS) if f"[{e}]" not in upstream_vocab] == []


@pytest.mark.parametrize(
    ("syllable", "tokens", "approximated"),
    [
        ("hao3", ("h", "ǎo"), False),
        ("lve4", ("l", "vè"), False),  # upstream spells üè with v
        ("nv3", ("n", "ǚ"), False),
        ("yue4", ("y", "uè"), False),
        ("ie5", ("iè",), True),  # no neutral-tone ie upstream
        ("er1", ("èr",), True),
        ("ng2", ("éng",), True),
        ("hm5", ("h", "en"), True),
    ],
)
def test_renderings(syllable: str, tokens: tuple[str, ...], approximated: bool) -> None:
    assert cosyvoice_tokens.render(syllable) == cosyvoice_tokens.Rendering(tokens, approximated)


def test_exact_renderings_read_back_as_the_same_syllable() -> None:
    for syllable in all_syllables():
        rendering = cosyvoice_tokens.render(syllable)
        if not rendering.approximated and not syllable.startswith("ê"):
            assert to_canonical("".join(rendering.tokens).replace("v", "ü")) == syllable
