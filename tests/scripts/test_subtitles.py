from __future__ import annotations

from pipeline.scripts.ingest import ingest_text

SRT = """1
00:00:01,000 --> 00:00:02,500
MAYA: Hello <i>there</i>, {\\an8}friend.

2
00:00:03,000 --> 00:00:05,000
THEO: A <font color="red">red</font> word,
then <strong>more</strong> <break time="300ms"/> [breath]

3
00:00:05,500 --> 00:00:06,000
她[h][ào]干净
第二行
"""


def test_srt_speakers_styling_stripped_markup_kept(ingest_settings) -> None:
    result = ingest_text(SRT, "ep.srt", ingest_settings)
    assert result.ok, result.problems
    first, second, third = result.lines
    assert (first.speaker, first.text, first.start, first.end) == ("MAYA", "Hello there, friend.", 1.0, 2.5)
    assert second.text == 'A red word, then <strong>more</strong> <break time="300ms"/> [breath]'
    assert third.text == "她[h][ào]干净第二行" and third.speaker is None and third.lang == "zh"
    assert [ln.source_line for ln in result.lines] == [2, 6, 11]


def test_vtt_voice_spans_give_the_speaker(ingest_settings) -> None:
    vtt = (
        "WEBVTT\n\nintro\n00:01.000 --> 00:02.000 align:start\n<v.loud Roger Bingham>We are <b>here</b></v>\n\n"
        "00:00:03.000 --> 00:00:04.000\n<v Neil>Yes.\n"
    )
    result = ingest_text(vtt, "talk.vtt", ingest_settings)
    assert result.ok, result.problems
    assert [(ln.speaker, ln.text) for ln in result.lines] == [("Roger Bingham", "We are here"), ("Neil", "Yes.")]
    assert [ln.source_line for ln in result.lines] == [4, 7]


ASS = """[Script Info]
ScriptType: v4.00+

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,2,2,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:01.00,0:00:02.00,Default,林晓,0,0,0,,{\\i1}你好{\\i0}，\\N世界
Comment: 0,0:00:02.00,0:00:03.00,Default,Editor,0,0,0,,not spoken
Dialogue: 0,0:00:03.00,0:00:04.50,Default,Theo,0,0,0,,{\\b1}Hi{\\b0} [K][L][IY1][R]
"""


def test_ass_name_is_speaker_comments_skipped(ingest_settings) -> None:
    result = ingest_text(ASS, "ep.ass", ingest_settings)
    assert result.ok, result.problems
    assert [(ln.speaker, ln.text, ln.source_line) for ln in result.lines] == [
        ("林晓", "你好，世界", 10),
        ("Theo", "Hi [K][L][IY1][R]", 12),
    ]
    assert result.lines[1].start == 3.0 and result.lines[1].end == 4.5


def test_known_speaker_prefix_in_any_script_with_a_voice_map(ingest_settings) -> None:
    srt = "1\n00:00:01,000 --> 00:00:02,000\n林晓：你好。\n"
    result = ingest_text(srt, "zh.srt", ingest_settings, voice_map={"林晓": "zh-female"})
    assert result.ok, result.problems
    assert (result.lines[0].speaker, result.lines[0].text, result.lines[0].voice) == ("林晓", "你好。", "zh-female")


def test_malformed_timing_line_is_reported_at_its_line(ingest_settings) -> None:
    srt = "1\n00:00:01,000 --> 00:00:02,000\nFine.\n\n2\n00:00:0x,000 --> 00:00:03,000\nBroken.\n"
    result = ingest_text(srt, "bad.srt", ingest_settings)
    assert [(p.line, p.code) for p in result.errors] == [(6, "bad-timing")]
    assert [ln.text for ln in result.lines] == ["Fine."]
