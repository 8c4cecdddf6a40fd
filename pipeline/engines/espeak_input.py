"""Utterance → text runs for the espeak-phonemized engines (Piper, espeak-ng), split at breaks.

Both take espeak's ``[[ipa]]`` phoneme blocks inline, so ARPAbet overrides become IPA blocks; pinyin is kept as
tone-number syllables only where the engine reads them (espeak's ``cmn``), else dropped (and reported by
``Engine.dropped_markup``). Events have no spoken form here.
"""

from __future__ import annotations

from pipeline.text import arpabet
from pipeline.text.markup import Break, Phonemes, Pinyin, Segment, Span, Text, Utterance

Run = tuple[str, str | float]  # ("text", engine input) or ("pause", seconds)


def text_runs(utterance: Utterance, *, pinyin: bool) -> list[Run]:
    out: list[Run] = []

    def add(text: str) -> None:
        if out and out[-1][0] == "text":
            out[-1] = ("text", f"{out[-1][1]}{text}")
        else:
            out.append(("text", text))

    def walk(items: tuple[Segment, ...]) -> None:
        for seg in items:
            if isinstance(seg, Text):
                add(seg.text.replace("[[", "[ ["))  # literal brackets must not open a phoneme block
            elif isinstance(seg, Pinyin) and pinyin:
                add(" " + " ".join(seg.syllables) + " ")
            elif isinstance(seg, Phonemes):
                add(f"[[{arpabet.to_ipa(seg.phones)}]]")
            elif isinstance(seg, Break):
                out.append(("pause", seg.seconds))
            elif isinstance(seg, Span):
                walk(seg.children)

    walk(utterance.segments)
    return [(kind, value) for kind, value in out if kind == "pause" or str(value).strip()]
