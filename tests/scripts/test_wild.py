"""Script files as studios have them: one minimal fixture of ours per case met in real files (tests/fixtures/wild/).

Each fixture reproduces one way real subtitle, sheet and manuscript files differ from our own samples (hearing-
impaired conventions, lenient timecodes, legacy encodings, WebVTT features, SSA placeholders, drawings, …). The
expected lines were checked by hand; the timings of every subtitle fixture are also compared with pysubs2, the
reference reader, below, with each place we read differently on purpose named and explained.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pysubs2
import pytest

from pipeline.scripts.ingest import ingest_file
from pipeline.settings import IngestSettings
from tests.conftest import FIXTURES

WILD = FIXTURES / "wild"
SUBTITLES = (".srt", ".vtt", ".ass", ".ssa")


@dataclass(frozen=True)
class Expect:
    lines: list[tuple[Any, ...]]  # (speaker, text, lang, start, end[, chapter])
    problems: list[tuple[int | None, str]]  # (source line, code), errors and warnings, in report order
    encoding: str | None = "utf-8"
    settings: dict[str, Any] = field(default_factory=dict)


EXPECTED: dict[str, Expect] = {
    "aliases.csv": Expect(
        [("MAYA", "Where were you?", "en", 1.0, 2.48), ("THEO", "Out.", "en", 3.0, 3.8)], [(1, "duplicate-column")]
    ),
    "aliases_lower.tsv": Expect(
        [("Maya", "Bonjour à tous, bienvenue.", "fr", None, None), ("Theo", "Hello everyone.", "en", None, None)], []
    ),
    "bad_style.ass": Expect(
        [(None, "Chapter one", "en", 1.0, 2.5), ("林晓", "你好，世界", "zh", 3.0, 5.0)], [(7, "bad-style")]
    ),
    "big5_traditional.srt": Expect(
        [(None, "你好，今天天氣很好。", "zh", 1.0, 3.0), (None, "我們一起去吃飯吧。", "zh", 3.5, 5.0)],
        [(None, "encoding-guessed")],
        encoding="big5",
    ),
    "blank_in_cue.srt": Expect(
        [
            (None, "The first half of the cue, and the second half after a blank line.", "en", 1.0, 4.0),
            (None, "Next cue.", "en", 5.0, 6.0),
        ],
        [(4, "blank-line-in-cue")],
    ),
    "book_brackets.txt": Expect(
        [
            (None, "CHAPTER IV", "en", None, None, "CHAPTER IV"),
            (
                None,
                "The old man looked up from the page. \\[later editions continued as follows …\\] It was late.",
                "en",
                None,
                None,
                "CHAPTER IV",
            ),
            (None, "Chapter one ended badly, he thought, and the next began worse.", "en", None, None, "CHAPTER IV"),
            (None, "Epilogue", "en", None, None, "Epilogue"),
            (None, "Nobody saw him again.", "en", None, None, "Epilogue"),
        ],
        [],
    ),
    "cp1250_czech.srt": Expect(
        [
            (None, "Dobrý den, jak se máte? Děkuji, dobře.", "cs", 1.0, 3.0),
            (None, "Žluťoučký kůň úpěl ďábelské ódy.", "cs", 3.5, 5.0),
        ],
        [(None, "encoding-guessed")],
        encoding="cp1250",
    ),
    "cp1251_russian.srt": Expect(
        [(None, "Добрый день, как дела?", "ru", 1.0, 3.0), (None, "Спасибо, всё хорошо.", "ru", 3.5, 5.0)],
        [(None, "encoding-guessed")],
        encoding="cp1251",
    ),
    "cp1252_french.srt": Expect(
        [
            (None, "Où est la gare ? Très bien, merci.", "fr", 1.0, 3.0),
            (None, "Ça va ? Déjà vu, à bientôt.", "fr", 3.5, 5.0),
        ],
        [(None, "encoding-guessed")],
        encoding="cp1252",
    ),
    "drawings.ass": Expect(
        [("Maya", "Look at the sign.", "en", 1.0, 3.0), ("Theo", "It says closed. Sorry.", "en", 3.5, 5.0)], []
    ),
    "empty.srt": Expect([], [(None, "no-lines")], encoding=None),
    "euc_kr_korean.srt": Expect(
        [(None, "안녕하세요, 잘 지내세요?", "ko", 1.0, 3.0), (None, "감사합니다.", "ko", 3.5, 5.0)],
        [(None, "encoding-guessed")],
        encoding="euc_kr",
    ),
    "french.srt": Expect(
        [
            (None, "Il gagne 20000$ par an, tu sais.", "fr", 1.0, 3.0),
            (None, "Oui.", "fr", 3.5, 5.0),
            (None, "La porte est ouverte, entrez donc.", "fr", 5.5, 8.0),
        ],
        [],
    ),
    "garbage.vtt": Expect([], [(1, "encoding")], encoding=None),
    "gbk_simplified.srt": Expect(
        [(None, "你好，今天天气很好。", "zh", 1.0, 3.0), (None, "我们一起去吃饭吧。", "zh", 3.5, 5.0)],
        [(None, "encoding-guessed")],
        encoding="gb18030",
    ),
    "hearing_impaired.srt": Expect(
        [
            ("Alba", "¿Quién está ahí?", "es", 1.0, 3.0),
            (None, "Okay, okay.", "en", 5.5, 7.0),
            ("MAYA", "Run!", "en", 9.5, 9.962),
            ("THEO", "Where to?", "en", 9.962, 11.0),
            (None, "One stray bracket in a long file.", "en", 11.5, 13.0),
        ],
        [
            (6, "sound-description"),
            (10, "sound-description"),
            (10, "sound-description"),
            (15, "sound-description"),
            (19, "shared-slot"),
            (24, "unmatched-bracket"),
        ],
    ),
    "inline_html.md": Expect(
        [
            (None, "Chapter One", "en", None, None, "Chapter One"),
            (
                None,
                "The harbour was quiet. She read the whole letter and followed the old road home.",
                "en",
                None,
                None,
                "Chapter One",
            ),
            (None, 'She waited <break time="500ms"/> and then <strong>ran</strong>.', "en", None, None, "Chapter One"),
        ],
        [(11, "not-spoken"), (15, "not-spoken")],
    ),
    "japanese.srt": Expect(
        [
            (None, "どこへ行くの？", "ja", 1.0, 3.0),
            (None, "東京駅", "ja", 3.5, 5.0),
            (None, "それに触るなと言ったでしょう。", "ja", 5.5, 8.0),
        ],
        [],
    ),
    "karaoke_entities.vtt": Expect(
        [
            (None, "Never gonna give you up", "en", 17.0, 19.0),
            (None, "Fish & chips \\<cheap\\> at 5", "en", 19.5, 21.0),
        ],
        [],
    ),
    "latin1_degrees.srt": Expect(
        [(None, "It is 84°F outside.", "en", 1.0, 3.0)], [(None, "encoding-guessed")], encoding="cp1252"
    ),
    "lenient_times.srt": Expect(
        [
            (None, "Milliseconds that overflowed.", "en", 1.0, 7.0),
            (None, "A dot and short fractions.", "en", 7.5, 8.75),
            (None, "No hours.", "en", 9.0, 10.0),
        ],
        [(2, "lenient-timecode"), (6, "lenient-timecode"), (10, "lenient-timecode")],
    ),
    "no_text_field.json": Expect([], [(None, "no-lines"), (None, "unknown-column")]),
    "normalizer_crash.srt": Expect(
        [
            (None, "Caption text #3", "en", 1.0, 2.5),
            ("SPORTSCASTER #1", "What a goal!", "en", 3.0, 5.0),
            (None, "Tickets &am& seats: 12 345 sold", "en", 5.5, 8.5),
            (None, "+ ¶ Section two", "en", 9.0, 10.5),
        ],
        [(2, "normalize-failed")],
    ),
    "novel_zh.txt": Expect(
        [
            (
                None,
                "第一回 灵根育孕源流出 心性修持大道生",
                "zh",
                None,
                None,
                "第一回\u3000灵根育孕源流出\u3000心性修持大道生",
            ),
            (
                None,
                "诗曰：混沌未分天地乱，茫茫渺渺无人见。",
                "zh",
                None,
                None,
                "第一回\u3000灵根育孕源流出\u3000心性修持大道生",
            ),
            (
                None,
                "第三回合他终于赢了，大家都很高兴。",
                "zh",
                None,
                None,
                "第一回\u3000灵根育孕源流出\u3000心性修持大道生",
            ),
            (
                None,
                "盖闻天地之数，有十二万九千六百岁为一元。",
                "zh",
                None,
                None,
                "第一回\u3000灵根育孕源流出\u3000心性修持大道生",
            ),
            (None, "第二回 悟彻菩提真妙理", "zh", None, None, "第二回 悟彻菩提真妙理"),
            (None, "话表美猴王得了姓名，怡然踊跃。", "zh", None, None, "第二回 悟彻菩提真妙理"),
        ],
        [],
    ),
    "old_placeholder_actor.ssa": Expect(
        [(None, "Good evening.", "en", 1.0, 3.0), (None, "Welcome back.", "en", 3.5, 5.0)], []
    ),
    "prose.srt": Expect([], [(None, "not-a-subtitle-file")]),
    "ruby_lang.vtt": Expect(
        [(None, "漢字を読むのは楽しいです。", "ja", 1.0, 3.0), (None, "Je ne parle pas anglais.", "fr", 3.5, 6.0)], []
    ),
    "russian.srt": Expect([(None, "Да.", "ru", 1.0, 2.0), (None, "Куда ты идёшь так поздно?", "ru", 2.5, 5.0)], []),
    "settings_no_space.vtt": Expect([(None, "First cue.", "en", 1.0, 2.0), (None, "Second cue.", "en", 2.5, 4.0)], []),
    "shift_jis_japanese.srt": Expect(
        [(None, "こんにちは、元気ですか？", "ja", 1.0, 3.0), (None, "ありがとうございます。", "ja", 3.5, 5.0)],
        [(None, "encoding-guessed")],
        encoding="shift_jis",
    ),
    "two_voices.vtt": Expect(
        [
            ("Alice", "Are you coming?", "en", 1.0, 1.882),
            ("Bob", "In a minute, I have to find my keys.", "en", 1.882, 4.0),
            ("Alice", "Hurry!", "en", 5.0, 6.0),
        ],
        [(3, "shared-slot")],
    ),
    "utf16_no_bom.srt": Expect(
        [(None, "Hello there.", "en", 1.0, 2.0), (None, "General Kenobi.", "en", 3.0, 4.0)], [], encoding="utf-16-le"
    ),
    "utf32_no_bom.srt": Expect(
        [(None, "Hello there.", "en", 1.0, 2.0), (None, "General Kenobi.", "en", 3.0, 4.0)], [], encoding="utf-32-be"
    ),
    "zh_speakers.srt": Expect(
        [
            ("旁白", "很久很久以前，有一座小岛。", "zh", 1.0, 3.0),
            ("小李", "我们明天出发吧。", "zh", 3.5, 5.0),
            (None, "他说：这是真的。", "zh", 5.5, 7.0),
        ],
        [],
    ),
}
EXPECTED["cp1250_czech.srt"] = Expect(
    EXPECTED["cp1250_czech.srt"].lines,
    EXPECTED["cp1250_czech.srt"].problems,
    encoding="cp1250",
    settings={"languages": ["en", "zh", "ja", "ko", "fr", "de", "es", "it", "pt", "ru", "cs"]},
)


def _ingest(name: str, settings: IngestSettings):
    expect = EXPECTED[name]
    return ingest_file(WILD / name, settings.model_copy(update=expect.settings))


def _row(line) -> tuple[Any, ...]:
    row = (line.speaker, line.text, line.lang, *(None if t is None else round(t, 3) for t in (line.start, line.end)))
    return (*row, line.chapter) if line.chapter else row


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_real_world_case_reads_as_a_person_would(name: str, ingest_settings: IngestSettings) -> None:
    expect = EXPECTED[name]
    result = _ingest(name, ingest_settings)
    assert [(p.line, p.code) for p in result.problems] == expect.problems
    assert [_row(line) for line in result.lines] == expect.lines
    assert result.encoding == expect.encoding
    assert "internal-error" not in {p.code for p in result.problems}


def test_every_wild_fixture_has_an_expectation() -> None:
    assert sorted(p.name for p in WILD.iterdir()) == sorted(EXPECTED)


def test_the_summary_of_the_wild_fixtures(ingest_settings: IngestSettings) -> None:
    """Read clean / read with warnings / refused: the counts the README reports."""
    results = [_ingest(name, ingest_settings) for name in EXPECTED]
    refused = sum(not r.ok for r in results)
    warned = sum(r.ok and bool(r.warnings) for r in results)
    assert (len(results) - refused - warned, warned, refused) == (14, 16, 4)


# Where we read a subtitle fixture differently from pysubs2, on purpose: (start, end) spans pysubs2 gives that we
# do not voice, and spans we read that pysubs2 does not give, each with the reason.
PYSUBS2_DIFFERS: dict[str, dict[str, list[tuple[float, float]]]] = {
    # vector drawings are shapes: pysubs2 keeps them as events of drawing commands
    "drawings.ass": {"only_theirs": [(1.0, 3.0)] * 40},
    # a cue holding only a sound description or music is not spoken
    "hearing_impaired.srt": {"only_theirs": [(3.5, 5.0), (7.5, 9.0)]},
    # pysubs2 takes a line with two karaoke timestamps (<00:00:17.500> … <00:00:18.000>) for a timing line
    "karaoke_entities.vtt": {"only_theirs": [(17.5, 18.0)]},
    # ",1000" overflowed into the next second (pysubs2 reads the first three digits: 6.100); pysubs2 skips the
    # cue without hours, which players read
    "lenient_times.srt": {"only_theirs": [(1.0, 6.1)], "only_ours": [(1.0, 7.0), (9.0, 10.0)]},
}
# pysubs2 cannot read these at all: a malformed style colour, and bytes that are no text.
PYSUBS2_FAILS = {"bad_style.ass", "garbage.vtt"}


def _spans(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return sorted((round(a, 3), round(b, 3)) for a, b in spans)


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if n.endswith(SUBTITLES)))
def test_cue_timings_agree_with_pysubs2(name: str, ingest_settings: IngestSettings) -> None:
    result = _ingest(name, ingest_settings)
    try:
        subs = pysubs2.load(str(WILD / name), encoding=result.encoding or "utf-8", format_=name.rsplit(".", 1)[1])
    except Exception:
        assert name in PYSUBS2_FAILS
        return
    assert name not in PYSUBS2_FAILS
    theirs = _spans([(e.start / 1000, e.end / 1000) for e in subs.events if not e.is_comment])
    cues: dict[int, tuple[float, float]] = {}  # a cue split between speakers is one pysubs2 event
    for line in result.lines:
        start, end = cues.get(line.source_line, (line.start, line.end))
        cues[line.source_line] = (min(start, line.start), max(end, line.end))
    ours = _spans(list(cues.values()))
    differs = PYSUBS2_DIFFERS.get(name, {})
    only_ours = sorted((Counter(ours) - Counter(theirs)).elements())
    only_theirs = sorted((Counter(theirs) - Counter(ours)).elements())
    assert only_ours == _spans(differs.get("only_ours", []))
    assert only_theirs == _spans(differs.get("only_theirs", []))
