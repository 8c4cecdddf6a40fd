"""Hearing-impaired conventions in dubbing text: who speaks, and what is not to be spoken.

Subtitles for the deaf and hard of hearing name the speaker (``[ALBA]``, ``ALBA:``, ``小李：``) and describe sounds
and music (``[door slams]``, ``(laughs)``, ``♪ la la ♪``); dubbing sheets put directions in parentheses. Read
aloud, each is a mistake. Only our documented markup is markup (pinyin, ARPAbet, breaks, events, ``<strong>``):
a bracket that is not shaped like it is a speaker label or a description, never a markup error, so a real file
is not refused for a convention it follows. A bracket that *is* shaped like markup (``[hao4]``, ``[pause:x]``)
goes on to the markup parser, which still reports its mistakes with the column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from pipeline.text import arpabet, pinyin
from pipeline.text.lang import has_han
from pipeline.text.markup import ESCAPABLE, EVENTS, is_markup_tag

SoundMode = Literal["drop", "keep", "error"]

_TONE_MARKS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
_PINYIN_TONE_DIGIT = re.compile(r"^[a-zv:ü]+[0-9]$")
_PHONE_SHAPED = re.compile(r"^[A-Z]{1,2}[0-9]$")  # [AA1], or a mistake such as [AA5]: the parser says which
_PINYIN_MARKED = re.compile(rf"^[a-zü{_TONE_MARKS}]*[{_TONE_MARKS}][a-zü{_TONE_MARKS}]*$")
_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)[^<>]*>")
# HTML elements: layout in a script exported from a web page or an editor, dropped. Any other tag is left to the
# markup parser, which refuses it (<whisper> is a mistaken markup tag, not layout).
HTML_ELEMENTS = frozenset(
    """a abbr address article aside b bdi bdo big blockquote br caption center cite code col colgroup dd del
    details dfn div dl dt em figcaption figure font footer h1 h2 h3 h4 h5 h6 header hr i img ins kbd label li
    main mark nav ol p pre q rp rt ruby s samp section small span sub summary sup table tbody td tfoot th thead
    time tr tt u ul var wbr""".split()
)
_OPENS_TAG = re.compile(r"[A-Za-z/]")
_DASH = re.compile(r"^[-–—]\s*")
_LATIN_LABEL = re.compile(r"^([A-Z][A-Z0-9 #._'-]{0,39}?)\s*:\s+(\S.*)$", re.DOTALL)
_CJK_LABEL = re.compile(r"^([\u3400-\u9fff·・]{1,6})\s*[：:]\s*(\S.*)$", re.DOTALL)
_NAME_WORD = re.compile(r"^[^\W\d_][\w.'’-]*$")
_CJK_WORD = re.compile(r"[\u3400-\u9fff·・]+")
_SPACES = re.compile(r"[ \t\u00a0]+")
# A CJK "label" that ends in a verb of saying is reported speech (他说：…), and these are headings, not people.
_SAYING = frozenset("说道问曰喊叫讲答笑称想唱")
_NOT_NAMES = frozenset(
    "注意 提示 注 备注 时间 地点 字幕 翻译 校对 片名 标题 原文 译文 问 答 第一 第二 其一 其二".split()
)
# Words that make a bracket a description even when it is capitalized like a name: [MUSIC], [Door Slams].
SOUND_WORDS = frozenset(
    """music musical song singing sings hums humming applause laughter laughs laughing laugh chuckles chuckling
    giggles giggling sighs sighing gasps gasping groans groaning screams screaming shouts shouting yells yelling
    cries crying sobs sobbing coughs coughing sneezes sneezing whispers whispering panting breathing grunts grunting
    moans moaning snores snoring thunder explosion explosions gunshot gunshots gunfire footsteps knocking knocks knock
    ringing rings ring beeps beeping buzzing static silence inaudible indistinct chatter chattering cheering cheers
    crowd door doors doorbell phone telephone siren sirens engine wind rain dog dogs barking barks birds chirping
    bell bells slams slam crash crashes thud bang clapping claps sniffs sniffles mumbles muttering scoffs
    música risas ríe ríen aplausos suspira suspiros grita gritos llora llanto tose tos susurra jadea ruido
    musique rires rit applaudissements soupire crie pleure tousse chuchote bruit
    musik lacht lachen applaus seufzt schreit weint hustet flüstert geräusch
    音乐 笑声 笑 掌声 叹气 咳嗽 哭声 哭 尖叫 敲门声 门铃 电话铃声 脚步声 雷声 枪声 风声 雨声""".split()
)
_OPEN = {"[": "]", "(": ")", "（": "）", "【": "】"}
_SPECIAL = re.compile(r"[\\\[\]()（）【】♪♫<]")
_MUSIC = "♪♫"


def is_layout_tag(tag: str) -> bool:
    """An HTML element or comment (``<span id=…>``, ``</u>``, ``<!-- … -->``): layout, never spoken. Our own tags
    and tags that are no HTML element are not layout: the markup parser takes them (and refuses ``<whisper>``)."""
    if tag.startswith("<!") or tag.startswith("<?"):
        return True
    match = _TAG.match(tag)
    return not is_markup_tag(tag) and match is not None and match.group(1).lower() in HTML_ELEMENTS


def _is_pinyin_shaped(token: str, han: bool) -> bool:
    if _PINYIN_TONE_DIGIT.match(token) or _PINYIN_MARKED.match(token):
        return True
    if not han or not token.isascii() or not token.isalpha() or not token.islower():
        return False
    if pinyin.is_initial(token):
        return True
    try:
        pinyin.to_canonical(token)
    except pinyin.PinyinError:
        return False
    return True


def is_markup_bracket(content: str, han: bool) -> bool:
    """Is ``[content]`` meant as our markup? Toneless pinyin (``[hao]``, ``[h]``) only counts in a Chinese line."""
    if content.startswith("pause:") or content in EVENTS or _PHONE_SHAPED.match(content):
        return True
    if content.isupper() and content.isascii():
        try:
            arpabet.validate(content)
        except arpabet.ArpabetError:
            return False
        return True
    return _is_pinyin_shaped(content, han)


def _looks_like_name(content: str) -> bool:
    words = content.split()
    if not 1 <= len(words) <= 3 or any(w.lower().strip(".,!?") in SOUND_WORDS for w in words):
        return False
    if len(words) == 1 and _CJK_WORD.fullmatch(content):
        return len(content) <= 6 and _cjk_name(content)
    return all(_NAME_WORD.match(w) and w[0].isupper() for w in words)


def leading_label(text: str, speakers: frozenset[str] = frozenset()) -> tuple[str | None, str]:
    """``[ALBA] Hi`` / ``ALBA: Hi`` / ``小李：你好`` / a known speaker with either colon → (speaker, rest)."""
    body = _DASH.sub("", text.lstrip(), count=1)
    for name in speakers:
        for colon in (":", "："):
            if body.startswith(name + colon) and body[len(name) + 1 :].strip():
                return name, body[len(name) + 1 :].lstrip()
    if body.startswith("[") and (end := body.find("]")) > 1:
        content, rest = body[1:end].strip(), body[end + 1 :].strip()
        if rest and (
            content in speakers or (not is_markup_bracket(content, has_han(rest)) and _looks_like_name(content))
        ):
            return content, rest
    if m := _LATIN_LABEL.match(body):
        return m.group(1).strip(), m.group(2)
    if (m := _CJK_LABEL.match(body)) and _cjk_name(m.group(1)):
        return m.group(1), m.group(2)
    return None, text


def _cjk_name(name: str) -> bool:
    return name not in _NOT_NAMES and name[-1] not in _SAYING and name not in SOUND_WORDS


@dataclass
class Cleaned:
    text: str
    notes: list[tuple[str, str, str]] = field(default_factory=list)  # (severity, code, message)

    def warn(self, code: str, message: str) -> None:
        self.notes.append(("warning", code, message))


def _matching(text: str, start: int) -> int:
    """Index of the bracket closing the one at ``start`` (nesting counted), or -1."""
    opener, closer = text[start], _OPEN[text[start]]
    depth, i = 0, start
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if opener == "[" and c == "[" and i > start:
            return -1  # markup brackets never nest: the outer one is unmatched
        depth += c == opener
        depth -= c == closer
        if depth == 0:
            return i
        i += 1
    return -1


def _escape(text: str) -> str:
    return "".join("\\" + c if c in ESCAPABLE else c for c in text)


def clean(text: str, mode: SoundMode, *, prose: bool = False) -> Cleaned:
    """Remove (``drop``), keep as text (``keep``) or report (``error``) sound descriptions and music; drop
    unmatched brackets and tags that are not ours. In ``prose`` (manuscripts) a bracket that is not markup is
    ordinary text and parentheses are left alone."""
    out = Cleaned(text)
    if not _SPECIAL.search(text):
        return out
    han = has_han(text)
    pieces: list[str] = []
    changed = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            pieces.append(text[i : i + 2])
            i += 2
        elif c in _OPEN and (c == "[" or not prose):
            end = _matching(text, i)
            if end < 0:
                if c == "[":
                    changed = True
                    out.warn("unmatched-bracket", f"column {i + 1}: '[' is never closed; not spoken")
                else:
                    pieces.append(c)
                i += 1
                continue
            span = text[i : end + 1]
            if c == "[" and is_markup_bracket(span[1:-1], han):
                pieces.append(span)
            else:
                changed = True
                pieces.append(_escape(span) if prose else _description(span, i, mode, out))
            i = end + 1
        elif c == "]":
            changed = True
            out.warn("unmatched-bracket", f"column {i + 1}: ']' without '['; not spoken")
            i += 1
        elif c in _MUSIC and not prose:
            closing = [j for j in (text.find(m, i + 1) for m in _MUSIC) if j > 0]
            end = min(closing) if closing else n - 1
            changed = True
            pieces.append(_description(text[i : end + 1], i, mode, out, music=True))
            i = end + 1
        elif c == "<" and (m := _TAG.match(text, i)):
            if not is_layout_tag(m.group(0)):
                pieces.append(m.group(0))
            else:
                changed = True
                out.warn("not-markup", f"column {i + 1}: {m.group(0)} is not dubflow markup; removed")
            i = m.end()
        elif c == "<" and _OPENS_TAG.match(text, i + 1):
            changed = True  # would open a tag for the markup parser, but no tag is closed
            out.warn("unmatched-bracket", f"column {i + 1}: '<' opens no tag; read as text")
            pieces.append("\\<")
            i += 1
        else:
            pieces.append(c)
            i += 1
    if changed:
        out.text = _SPACES.sub(" ", "".join(pieces)).strip()
    return out


def _description(span: str, offset: int, mode: SoundMode, out: Cleaned, *, music: bool = False) -> str:
    what = "music" if music else "a sound description"
    if mode == "error":
        out.notes.append(
            ("error", "sound-description", f"column {offset + 1}: {span} is {what} (ingest.sound_descriptions: error)")
        )
        return ""
    if mode == "keep":
        return _escape(span)
    out.warn("sound-description", f"not spoken: {span} ({what})")
    return " "
