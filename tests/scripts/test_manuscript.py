from __future__ import annotations

from pipeline.scripts.ingest import ingest_text
from pipeline.scripts.segment import chunk, sentence_cuts

MD = """# Chapter One

First paragraph, *emphasis* and a [link](http://example.com) are read as text.
It continues on a second line.

- a list item is spoken too

```
code is not spoken
```

# 第二章

我们在上午九点靠岸。他说岛上一共住着235个人。
"""


def test_markdown_chapters_paragraphs_and_pauses(ingest_settings) -> None:
    result = ingest_text(MD, "book.md", ingest_settings)
    assert result.ok, result.problems
    rows = [(ln.chapter, ln.text, ln.source_line, ln.pause_after) for ln in result.lines]
    pauses = ingest_settings.pauses
    assert rows == [
        ("Chapter One", "Chapter One", 1, pauses.chapter),
        (
            "Chapter One",
            "First paragraph, emphasis and a link are read as text. It continues on a second line.",
            3,
            pauses.paragraph,
        ),
        ("Chapter One", "a list item is spoken too", 6, pauses.chapter),
        ("第二章", "第二章", 12, pauses.chapter),
        ("第二章", "我们在上午九点靠岸。他说岛上一共住着235个人。", 14, 0.0),
    ]
    assert [p.code for p in result.warnings] == ["not-spoken"]
    assert result.lines[-1].spoken_text.endswith("百三十五个人。")
    assert [ln.lang for ln in result.lines] == ["en", "en", "en", "zh", "zh"]


def test_headings_can_stay_silent(ingest_settings) -> None:
    quiet = ingest_settings.model_copy(update={"speak_headings": False})
    result = ingest_text("# One\n\nText.\n", "b.md", quiet)
    assert [(ln.chapter, ln.text) for ln in result.lines] == [("One", "Text.")]


def test_plain_text_headings_and_paragraph_lines(ingest_settings) -> None:
    text = "Chapter 1\n\nIt was late.\nVery late.\n\n第二章 回家\n\n天黑了。\n"
    result = ingest_text(text, "book.txt", ingest_settings)
    assert [(ln.chapter, ln.text, ln.source_line) for ln in result.lines] == [
        ("Chapter 1", "Chapter 1", 1),
        ("Chapter 1", "It was late. Very late.", 3),
        ("第二章 回家", "第二章 回家", 6),
        ("第二章 回家", "天黑了。", 8),
    ]


def test_long_english_paragraph_splits_at_sentences_with_source_lines(ingest_settings) -> None:
    small = ingest_settings.model_copy(update={"max_chars": {"en": 60}})
    paragraph = (
        "Dr. Smith paid $3.50 at 5 p.m. on the dot.\nThen he left without a word to anyone at all.\n"
        "Nobody saw him again until the spring."
    )
    result = ingest_text(paragraph, "p.txt", small)
    assert [ln.text for ln in result.lines] == [
        "Dr. Smith paid $3.50 at 5 p.m. on the dot.",
        "Then he left without a word to anyone at all.",
        "Nobody saw him again until the spring.",
    ]
    assert [ln.source_line for ln in result.lines] == [1, 2, 3]
    assert [ln.pause_after for ln in result.lines] == [small.pauses.sentence, small.pauses.sentence, 0.0]
    assert len({ln.paragraph for ln in result.lines}) == 1


def test_chinese_sentence_rules_keep_closing_quotes() -> None:
    text = "他说：“你好！今天天气很好。”然后走了。还有3.5元……最后一句"
    cuts = sentence_cuts(text, "zh")
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    assert pieces == ["他说：“你好！", "今天天气很好。”", "然后走了。", "还有3.5元……", "最后一句"]


def test_overlong_sentence_falls_back_to_clauses_and_never_cuts_markup() -> None:
    text = "一百年前，这里只有一座灯塔[pause:0.5]，五十年前，第一批渔民搬了过来，直到2008年，岛上才通了电。"
    chunks = chunk(text, "zh", 20)
    pieces = [text[c.start : c.end] for c in chunks]
    assert "".join(pieces) == text
    assert all("[pause:0.5" not in p or "[pause:0.5]" in p for p in pieces)
    assert chunks[0].boundary == "clause" and chunks[-1].boundary == "end"


def test_strong_span_is_not_split() -> None:
    text = "<strong>One sentence here. Another one there.</strong> Tail sentence that is long enough."
    pieces = [text[c.start : c.end] for c in chunk(text, "en", 30)]
    assert pieces[0].count("<strong>") == pieces[0].count("</strong>") == 1
