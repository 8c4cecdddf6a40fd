"""Narration manuscripts (Markdown, plain text) → raw lines with chapters, paragraphs and pauses.

Markdown structure comes from markdown-it-py: headings start chapters, paragraphs (also inside lists and
quotes) are spoken; code blocks, tables, HTML blocks and comments, images, link targets and front matter are
not (link text is, and so is the text inside inline HTML such as ``<span id=…>…</span>``; only our own tags,
``<break/>`` ``<strong>`` ``<laughter>``, survive as markup).

In plain text, paragraphs are separated by blank lines (or start with an indent, as in books that put one
paragraph on each line), and headings are only lines shaped like headings: ``Chapter 3``, ``CHAPTER IV``,
``第三回 …``, ``第十章``, ``Prologue``, or a short line standing alone between blank lines that does not end like
a sentence. A sentence that happens to begin with "第三回" is not a chapter.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from markdown_it import MarkdownIt

from pipeline.scripts.formats import FORMATS
from pipeline.scripts.model import RawLine, Report
from pipeline.scripts.segment import chunk, join_lines
from pipeline.scripts.sounds import is_layout_tag
from pipeline.settings import IngestSettings
from pipeline.text.lang import detect_lines
from pipeline.text.markup import ESCAPABLE

_NUMBER = r"(?:\d+|[ivxlcdm]+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|[a-z]+teen|twenty[a-z-]*)"
_TITLE = r"(?:[\s.:：—–-]+[^。！？!?；;.]{0,60}?)?"
_PLAIN_HEADING = re.compile(
    rf"^(?:(?:chapter|part|book)\s+{_NUMBER}\.?{_TITLE}"
    r"|(?:prologue|epilogue|interlude|preface|foreword|afterword|introduction)(?:[\s.:—–-]+[^.!?]{0,60})?"
    r"|第[0-9０-９零〇一二三四五六七八九十百千两]+[章节回部卷篇集幕](?:[\s　:：·、.．—-]+[^。！？，；]{0,40})?"
    r"|(?:序章|楔子|尾声|后记|序言|引子|终章|番外[^。！？，；]{0,20}))$",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?。！？…,，;；:：\"'”’」』)）]$")
_INDENT = re.compile(r"^(?:\u3000|\t| {2,})")
_FRONT_MATTER = re.compile(r"^(---|\+\+\+)[ \t]*$")


@dataclass
class _Block:
    heading: bool
    parts: list[str]  # physical lines
    first_line: int


def _inline_text(children: list) -> list[str]:
    """Inline tokens → physical lines of speakable text. Our markup tags are kept verbatim, other inline HTML
    (and comments) is dropped while the text between its tags is kept; images are not spoken."""
    lines = [""]
    for tok in children:
        if tok.type in ("softbreak", "hardbreak"):
            lines.append("")
        elif tok.type == "text_special":
            lines[-1] += ("\\" + tok.content) if tok.content in ESCAPABLE and tok.info == "escape" else tok.content
        elif tok.type in ("text", "code_inline") or (tok.type == "html_inline" and not is_layout_tag(tok.content)):
            lines[-1] += tok.content
    return lines


def _without_front_matter(text: str) -> str:
    """YAML (``---``) or TOML (``+++``) front matter blanked out, line numbers kept."""
    lines = text.split("\n")
    if not lines or not (m := _FRONT_MATTER.match(lines[0])):
        return text
    for end in range(1, min(len(lines), 200)):
        if lines[end].strip() in (m.group(1), "..."):
            return "\n" * end + "\n" + "\n".join(lines[end + 1 :])
    return text


def _markdown_blocks(text: str, report: Report) -> list[_Block]:
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    tokens = md.parse(_without_front_matter(text))
    blocks: list[_Block] = []
    for i, tok in enumerate(tokens):
        line = tok.map[0] + 1 if tok.map else 1
        if tok.type in ("heading_open", "paragraph_open"):
            inline = tokens[i + 1]
            blocks.append(_Block(tok.type == "heading_open", _inline_text(inline.children or []), line))
        elif tok.type in ("fence", "code_block"):
            report.warning(line, "not-spoken", "code block is not spoken")
        elif tok.type == "table_open":
            report.warning(line, "not-spoken", "table is not spoken")
        elif tok.type == "html_block" and not tok.content.lstrip().startswith("<!--"):
            report.warning(line, "not-spoken", "HTML block is not spoken (the text of inline tags in a paragraph is)")
    return blocks


def _is_heading(line: str, alone: bool) -> bool:
    """A line shaped like a heading; ``alone``: between blank lines, where a short line not ending like a
    sentence is one too."""
    stripped = line.strip()
    if _PLAIN_HEADING.match(stripped):
        return True
    if (
        not alone
        or _INDENT.match(line)
        or len(stripped) > 60
        or _SENTENCE_END.search(stripped)
        or not stripped[0].isalnum()
    ):
        return False
    return len(stripped.split()) <= 8 and not stripped[0].islower()


def _plain_blocks(text: str) -> list[_Block]:
    """Paragraphs of a plain-text book: a blank line or an indented line starts one; a heading-shaped line is
    always a heading of its own."""
    blocks: list[_Block] = []
    current: list[str] = []
    first = 1

    def close() -> None:
        if current:
            blocks.append(_Block(False, list(current), first))
            current.clear()

    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            close()
        elif _PLAIN_HEADING.match(line.strip()):
            close()
            blocks.append(_Block(True, [line], number))
        else:
            if current and _INDENT.match(line):
                close()
            if not current:
                first = number
            current.append(line)
    close()
    lines = text.split("\n")
    for block in blocks:  # a short line standing alone between blank lines
        if not block.heading and len(block.parts) == 1:
            before = block.first_line - 2
            after = block.first_line
            alone = (before < 0 or not lines[before].strip()) and (after >= len(lines) or not lines[after].strip())
            block.heading = alone and _is_heading(block.parts[0], alone=True) and len(blocks) > 1
    return blocks


def parse_manuscript(text: str, suffix: str, report: Report, settings: IngestSettings) -> list[RawLine]:
    blocks = _markdown_blocks(text, report) if FORMATS[suffix].name == "markdown" else _plain_blocks(text)
    pauses = settings.pauses
    out: list[RawLine] = []
    chapter: str | None = None
    joined_blocks = [join_lines(block.parts) for block in blocks]
    # A paragraph's language decides where it may be cut, and holds for every piece of it: judged once, whole.
    languages = detect_lines([joined for joined, _ in joined_blocks], settings.default_lang, settings.languages)
    for number, (block, (joined, starts), lang) in enumerate(zip(blocks, joined_blocks, languages, strict=True), 1):
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
        limit = settings.max_chars.get(lang, settings.max_chars_default)
        for piece in chunk(joined, lang, limit):
            body = joined[piece.start : piece.end].strip()
            source_line = block.first_line + bisect.bisect_right(starts, piece.start) - 1
            pause = {"sentence": pauses.sentence, "clause": pauses.clause, "cut": pauses.clause}.get(piece.boundary)
            if pause is None:
                pause = pauses.chapter if next_is_heading else pauses.paragraph
            out.append(RawLine(source_line, body, chapter=chapter, paragraph=number, pause_after=pause, lang=lang))
    if out:
        out[-1].pause_after = 0.0
    return out
