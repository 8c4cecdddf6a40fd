"""Narration manuscripts (Markdown, plain text) → raw lines with chapters, paragraphs and pauses.

Markdown structure comes from markdown-it-py: headings start chapters, paragraphs (also inside lists and
quotes) are spoken, code and raw HTML blocks are not. In plain text, paragraphs are separated by blank lines and a
one-line paragraph such as "Chapter 3" or "第三章 …" is a heading.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from markdown_it import MarkdownIt

from pipeline.scripts.model import RawLine, Report
from pipeline.scripts.segment import chunk, join_lines
from pipeline.settings import IngestSettings
from pipeline.text.lang import detect
from pipeline.text.markup import ESCAPABLE

FORMATS = {".md": "markdown", ".markdown": "markdown", ".txt": "text"}

_PLAIN_HEADING = re.compile(
    r"^\s*(?:(?:chapter|part|book|prologue|epilogue|interlude)\b.{0,80}"
    r"|第[0-9零〇一二三四五六七八九十百千两]+[章节回部卷篇].{0,40}"
    r"|(?:序章|楔子|尾声|后记|序言).{0,40})$",
    re.IGNORECASE,
)


@dataclass
class _Block:
    heading: bool
    parts: list[str]  # physical lines
    first_line: int


def _inline_text(children: list) -> list[str]:
    """Inline tokens → physical lines of speakable text; our markup (raw HTML tags, brackets) kept verbatim."""
    lines = [""]
    for tok in children:
        if tok.type in ("softbreak", "hardbreak"):
            lines.append("")
        elif tok.type == "text_special":
            lines[-1] += ("\\" + tok.content) if tok.content in ESCAPABLE and tok.info == "escape" else tok.content
        elif tok.type in ("text", "html_inline", "code_inline"):
            lines[-1] += tok.content
    return lines


def _markdown_blocks(text: str, report: Report) -> list[_Block]:
    md = MarkdownIt("commonmark", {"html": True})
    tokens = md.parse(text)
    blocks: list[_Block] = []
    for i, tok in enumerate(tokens):
        line = tok.map[0] + 1 if tok.map else 1
        if tok.type in ("heading_open", "paragraph_open"):
            inline = tokens[i + 1]
            blocks.append(_Block(tok.type == "heading_open", _inline_text(inline.children or []), line))
        elif tok.type in ("fence", "code_block"):
            report.warning(line, "not-spoken", "code block is not spoken")
        elif tok.type == "html_block":
            report.warning(line, "not-spoken", "HTML block is not spoken (inline tags inside a paragraph are)")
    return blocks


def _plain_blocks(text: str) -> list[_Block]:
    blocks: list[_Block] = []
    current: list[str] = []
    first = 1
    for number, line in enumerate([*text.split("\n"), ""], start=1):
        if line.strip():
            if not current:
                first = number
            current.append(line)
        elif current:
            heading = len(current) == 1 and bool(_PLAIN_HEADING.match(current[0]))
            blocks.append(_Block(heading, current, first))
            current = []
    return blocks


def parse_manuscript(text: str, suffix: str, report: Report, settings: IngestSettings) -> list[RawLine]:
    blocks = _markdown_blocks(text, report) if FORMATS[suffix] == "markdown" else _plain_blocks(text)
    pauses = settings.pauses
    out: list[RawLine] = []
    chapter: str | None = None
    for number, block in enumerate(blocks, start=1):
        joined, starts = join_lines(block.parts)
        if not joined:
            continue
        next_is_heading = number < len(blocks) and blocks[number].heading
        if block.heading:
            chapter = joined
            if settings.speak_headings:
                out.append(
                    RawLine(block.first_line, joined, chapter=chapter, paragraph=number, pause_after=pauses.chapter)
                )
            continue
        lang = detect(joined, settings.default_lang)
        limit = settings.max_chars.get(lang, settings.max_chars_default)
        for piece in chunk(joined, lang, limit):
            body = joined[piece.start : piece.end].strip()
            source_line = block.first_line + bisect.bisect_right(starts, piece.start) - 1
            pause = {"sentence": pauses.sentence, "clause": pauses.clause}.get(piece.boundary)
            if pause is None:
                pause = pauses.chapter if next_is_heading else pauses.paragraph
            out.append(RawLine(source_line, body, chapter=chapter, paragraph=number, pause_after=pause))
    if out:
        out[-1].pause_after = 0.0
    return out
