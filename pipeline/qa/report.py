"""QA reports: JSON for machines, Parquet for analysis across runs, and one self-contained HTML file for reviewers.

The HTML report must open from an e-mail attachment or an air-gapped share, so everything (CSS, JS, plots, line
previews) is inlined; nothing is fetched from the network. Only the whole-stem players link to files beside it
(``../stems/…``): they play where the report is served with its version (the plugin's report link).
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
from collections.abc import Callable

import lameenc
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import soxr

from pipeline.qa.results import Check, LineQa, ScriptQa, placement
from pipeline.storage import keys
from pipeline.storage.store import ObjectStore

PREVIEW_RATE = 24000  # a rate LAME accepts (MPEG-2 layer III) and plenty for a speech preview
ST_WINDOW_S = 0.4  # short-term loudness window (the BS.1770 gating block length)
ST_HOP_S = 0.1
_EPS = 1e-12
_ORDER = {"fail": 0, "warn": 1}

PARQUET_SCHEMA = pa.schema(
    [
        ("project", pa.string()),
        ("script_id", pa.string()),
        ("profile", pa.string()),
        ("line_id", pa.string()),
        ("lang", pa.string()),
        ("line_verdict", pa.string()),
        ("quarantined", pa.bool_()),
        ("attempts", pa.int32()),
        ("check", pa.string()),
        ("verdict", pa.string()),
        ("value", pa.float64()),
        ("unit", pa.string()),
        ("threshold", pa.string()),
        ("detail", pa.string()),
    ]
)


def verdict_order(line: LineQa) -> tuple[int]:
    """Sort key putting failures first, then warnings, then the rest; sorted() is stable, so line order is kept
    within each group."""
    return (_ORDER.get(line.verdict, 2),)


def report_json(qa: ScriptQa) -> bytes:
    return json.dumps(qa.to_dict(), ensure_ascii=False, indent=2).encode("utf-8")


def report_parquet(qa: ScriptQa) -> bytes:
    """One row per (line, check), so verdicts can be aggregated across scripts and runs with any Parquet reader.
    Lines without checks have no rows; script-level checks live in the JSON report."""
    script = {"project": qa.project, "script_id": qa.script_id, "profile": qa.profile}
    rows = []
    for line in qa.lines:
        held = {**script, "line_id": line.line_id, "lang": line.lang, "line_verdict": line.verdict}
        held.update(quarantined=line.quarantined, attempts=line.attempts)
        for check in line.checks:  # its verdict, unit, threshold and detail as they are (its name is "check")
            value = None if check.value is None else float(check.value)
            rows.append({**held, **vars(check), "check": check.name, "value": value})
    table = pa.Table.from_pylist(rows, schema=PARQUET_SCHEMA)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


Media = tuple[str, str]  # a line's waveform PNG and MP3 preview, base64
Audio = dict[str, tuple[np.ndarray, int]]  # line id → its (processed) clip's samples and rate


def report_html(
    qa: ScriptQa,
    audio: Audio | None = None,
    preview_kbps: int = 64,
    media: dict[str, Media] | None = None,
    programme: list[str] | None = None,
) -> str:
    """``audio`` maps line_id to (float mono samples, sample rate); lines found there get a plot and a player.
    ``media`` holds lines' plots and players made before (``card_media``), which are not made again. ``programme``
    names the version's stems and chapters (``stems/en.wav``): players that link to them beside the report.

    The report is made before the version number exists and must be the same bytes when a killed publish is
    completed, so it names no version, run or date: ``<p id="published">`` is left for whoever serves it (the
    plugin's report route fills it from the manifest)."""
    made = media or {}
    media = made | {lid: card_media(*clip, preview_kbps) for lid, clip in (audio or {}).items() if lid not in made}
    counts = qa.counts()
    counts_fail, n_issues = counts["fail"], counts["fail"] + counts["warn"]
    title = f"QA · {qa.project} / {qa.script_id} · {qa.profile}"
    chips = "".join(f'<span class="chip v-{_e(name)}"><b>{n}</b> {_e(name)}</span>' for name, n in counts.items())
    script_checks = (
        f'<details class="script-checks"><summary>Script checks ({len(qa.script_checks)})</summary>'
        f"{_checks_table(qa.script_checks)}</details>"
        if qa.script_checks
        else ""
    )
    cards = "\n".join(_card(line, media.get(line.line_id)) for line in sorted(qa.lines, key=verdict_order))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{_CSS}</style>
</head>
<body data-filter="all">
<header class="summary">
<h1>{_e(qa.project)} <span class="sep">/</span> {_e(qa.script_id)} <span class="profile">{_e(qa.profile)}</span></h1>
<p class="published" id="published">project {_e(qa.project)} · script {_e(qa.script_id)} · profile {_e(qa.profile)}</p>
{_programme(programme or [])}
<div class="bar">
<div class="chips">{chips}</div>
<div class="filter" role="group" aria-label="Filter lines">
<button type="button" data-f="all" class="on">All ({len(qa.lines)})</button>
<button type="button" data-f="issues">Fail + warn ({n_issues})</button>
<button type="button" data-f="fail">Fail only ({counts_fail})</button>
</div>
</div>
{script_checks}
</header>
<main>
{cards}
</main>
<script>{_JS}</script>
</body>
</html>
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(value: float | None, unit: str = "", digits: int = 2) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}{' ' + unit if unit else ''}"


def _badge(verdict: str) -> str:
    return f'<span class="badge v-{_e(verdict)}">{_e(verdict)}</span>'


def _checks_table(checks: list[Check], collapse_passing: bool = False) -> str:
    """The checks, measured against their thresholds; with ``collapse_passing`` the passing (and not-checked)
    ones fold away under one line, so a card shows only what needs a look."""
    if not checks:
        return '<p class="muted">No checks.</p>'
    flagged = [c for c in checks if c.verdict in ("fail", "warn")] if collapse_passing else checks
    rest = [c for c in checks if c not in flagged]
    out = _table(flagged) if flagged else ""
    if rest:
        passing = sum(c.verdict == "pass" for c in rest)
        unchecked = f", {len(rest) - passing} not checked" if len(rest) > passing else ""
        out += f'<details class="passing"><summary>{passing} passing{unchecked}</summary>{_table(rest)}</details>'
    return out


def _table(checks: list[Check]) -> str:
    rows = "".join(
        f"<tr><td>{_e(c.name)}</td><td>{_badge(c.verdict)}</td><td class=num>{_e(c.measured())}</td>"
        f"<td>{_e(c.threshold)}</td><td class=detail>{_e(c.detail)}</td></tr>"
        for c in checks
    )
    return (
        "<table class=checks><thead><tr><th>Check</th><th>Verdict</th><th>Measured</th><th>Wanted</th>"
        f"<th>Detail</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _programme(files: list[str]) -> str:
    """Players for the whole dialogue stem of each language (or each chapter): links beside the report."""
    if not files:
        return ""
    players = "".join(
        f'<div class="stem"><span>{_e(name)}</span>'
        f'<audio controls preload="metadata" src="../{_e(name)}"></audio></div>'
        for name in files
    )
    return f'<details class="programme" open><summary>The whole programme</summary>{players}</details>'


def timecode(seconds: float | None) -> str:
    """A slot's time as editors read it: ``00:13.120``, ``1:02:03.040`` (the report and the review page)."""
    if seconds is None:
        return ""
    hours, rest = divmod(round(seconds * 1000), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    clock = f"{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"
    return f"{hours}:{clock}" if hours else clock


def card_media(x: np.ndarray, rate: int, preview_kbps: int = 64) -> Media:
    """The plot and the player of one line's card: most of a report's cost, so callers cache them by clip."""
    x = np.asarray(x, dtype=np.float64)
    x = x.mean(axis=1) if x.ndim == 2 else x
    if not x.size:
        return "", ""
    svg, mp3 = _plot_svg(x, rate), _mp3_preview(x, rate, preview_kbps)
    return base64.b64encode(svg).decode("ascii"), base64.b64encode(mp3).decode("ascii")


def stored_media(store: ObjectStore, clip_key: str, audio: Callable[[], tuple[np.ndarray, int]]) -> Media:
    """``card_media`` of a processed clip, kept in staging by the clip's key: made once, by the worker that checked
    the line (in parallel), and found by every report of the script after (one edited line makes one again)."""
    key = keys.report_media_key(hashlib.sha256(f"{clip_key}:64:svg".encode()).hexdigest())
    if store.exists("staging", key):
        plot, mp3 = json.loads(store.get_bytes("staging", key))
        return plot, mp3
    made = card_media(*audio())
    store.put_bytes("staging", key, json.dumps(made).encode(), content_type="application/json")
    return made


def _card(line: LineQa, media: Media | None) -> str:
    where = placement(line.line)
    facts = [("cue", f"#{where['cue']}")] if where else []
    if where.get("speaker"):
        facts.append(("speaker", _e(where["speaker"])))
    if where.get("slot_start_s") is not None and where.get("slot_end_s") is not None:
        facts.append(("slot", f"{timecode(where['slot_start_s'])}–{timecode(where['slot_end_s'])}"))
    facts += [
        ("engine", _e(line.engine or "—")),
        ("voice", _e(line.voice or "—")),
        ("duration", _e(_num(line.duration_s, "s"))),
        ("loudness", _e(_num(line.loudness, "LUFS", 1))),
        ("true peak", _e(_num(line.true_peak, "dBTP", 1))),
        ("stretch", _e(f"{line.stretch:.3f}×")),
        ("attempts", str(int(line.attempts))),
    ]
    if line.start_s is not None:
        facts.append(("placed at", timecode(line.start_s)))
    facts_html = "".join(f"<span><i>{name}</i> {value}</span>" for name, value in facts)
    flags = ""
    if line.quarantined:
        flags += '<span class="flag">quarantined</span>'
    if line.attempts > 1:
        flags += '<span class="flag retried">retried</span>'
    reasons = f'<p class="reasons">Reasons: {_e(", ".join(line.reasons))}</p>' if line.reasons else ""
    player = ""
    if media is not None and media[0]:
        svg, mp3 = media
        player = (
            f'<div class="media"><img alt="waveform and short-term level of {_e(line.line_id)}" '
            f'src="data:image/svg+xml;base64,{svg}">'
            f'<audio controls preload="metadata" src="data:audio/mpeg;base64,{mp3}"></audio></div>'
        )
    verdict, lid, lang = _e(line.verdict), _e(line.line_id), _e(line.lang)
    return f"""<section class="card v-{verdict}" data-verdict="{verdict}" id="line-{lid}">
<div class="head"><code class="lid">{lid}</code>{_badge(line.verdict)}<span class="lang">{lang}</span>{flags}</div>
<p class="text" lang="{lang}">{_e(line.text)}</p>
<div class="facts">{facts_html}</div>
{reasons}{player}
{_checks_table(line.checks, collapse_passing=True)}
</section>"""


def short_term_rms_db(x: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Window centres (s) and RMS level (dBFS) over 400 ms windows with a 100 ms hop; a clip shorter than one
    window is a single window. Plain RMS, not K-weighted: good enough to see where a line is loud or quiet."""
    win = max(1, round(ST_WINDOW_S * rate))
    hop = max(1, round(ST_HOP_S * rate))
    if x.shape[0] <= win:
        return np.array([x.shape[0] / 2 / rate]), np.array([20 * np.log10(np.sqrt(np.mean(x**2)) + _EPS)])
    energy = np.concatenate([[0.0], np.cumsum(np.square(x, dtype=np.float64))])
    starts = np.arange(0, x.shape[0] - win + 1, hop)
    mean_square = np.maximum(energy[starts + win] - energy[starts], 0.0) / win
    return (starts + win / 2) / rate, 20 * np.log10(np.sqrt(mean_square) + _EPS)


def _plot_svg(x: np.ndarray, rate: int) -> bytes:
    """The waveform's min/max envelope (one column per pixel) and the short-term level (right axis, orange).
    Written as SVG directly: a plot library took 56 ms a line, half of a 100-line report's cost; this takes 2 ms."""
    w, h, left, right, top, bottom = 480, 128, 30, 50, 6, 26
    pw, ph, seconds = w - left - right, h - top - bottom, x.shape[0] / rate
    edges = np.linspace(0, x.shape[0], min(x.shape[0], pw) + 1).astype(int)
    lo, hi = np.minimum.reduceat(x, edges[:-1]), np.maximum.reduceat(x, edges[:-1])
    px = left + np.arange(edges.size - 1) * pw / max(1, edges.size - 2)

    def ys(v: np.ndarray, low: float, high: float) -> np.ndarray:
        return top + (high - np.clip(v, low, high)) / (high - low) * ph

    def points(xs: np.ndarray, yv: np.ndarray) -> str:
        return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, yv, strict=True))

    st_t, st_db = short_term_rms_db(x, rate)
    level = points(left + st_t / max(seconds, 1e-9) * pw, ys(st_db, -60, 0))
    envelope = points(np.concatenate([px, px[::-1]]), ys(np.concatenate([hi, lo[::-1]]), -1, 1))
    ticks = "".join(
        f'<text x="{left + t / max(seconds, 1e-9) * pw:.1f}" y="{top + ph + 11}" text-anchor="middle">{t:g}</text>'
        for t in np.unique(np.round(np.linspace(0, seconds, 5), 1))
    )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'font-family="sans-serif" font-size="9"><rect width="{w}" height="{h}" fill="#fff"/>'
        f'<polygon points="{envelope}" fill="#7aa6d6" stroke="#4f83bd" stroke-width="0.4"/>'
        f'<polyline points="{level}" fill="none" stroke="#d2691e" stroke-width="1.2"/>'
        f'<path d="M{left},{top}V{top + ph}H{left + pw}V{top}" fill="none" stroke="#888" stroke-width="0.6"/>'
        f'<text x="{left - 3}" y="{top + 8}" text-anchor="end">1</text>'
        f'<text x="{left - 3}" y="{top + ph}" text-anchor="end">-1</text>{ticks}'
        f'<text x="{left + pw / 2}" y="{h - 1}" text-anchor="middle">time (s)</text>'
        f'<text x="{left + pw + 3}" y="{top + 8}" fill="#d2691e">0 dB</text>'
        f'<text x="{left + pw + 3}" y="{top + ph}" fill="#d2691e">-60 dB</text>'
        f'<text x="{left + pw + 3}" y="{top + ph / 2}" fill="#d2691e">RMS</text></svg>'
    )
    return svg.encode("ascii")


def _mp3_preview(x: np.ndarray, rate: int, kbps: int) -> bytes:
    """CBR mono MP3 at 24 kHz: small enough to inline many lines, and a sample rate LAME always accepts."""
    if rate != PREVIEW_RATE:
        x = soxr.resample(x, rate, PREVIEW_RATE, quality="HQ")
    pcm = (np.clip(x, -1.0, 1.0) * 32767).round().astype("<i2")
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(kbps)
    encoder.set_in_sample_rate(PREVIEW_RATE)
    encoder.set_channels(1)
    encoder.set_quality(5)
    encoder.silence()
    return bytes(encoder.encode(pcm.tobytes()) + encoder.flush())


_CSS = """
:root { --pass:#1f8a4c; --warn:#b7791f; --fail:#c53030; --nc:#718096; --bg:#f5f6f8; --card:#fff; --line:#e2e8f0; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:#1a202c;
  font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif; }
.summary { position:sticky; top:0; z-index:10; background:#fff; border-bottom:1px solid var(--line);
  padding:10px 20px; box-shadow:0 1px 4px rgba(0,0,0,.06); }
h1 { font-size:18px; margin:0 0 6px; font-weight:600; }
h1 .sep { color:#a0aec0; } h1 .profile { font-size:13px; font-weight:500; color:#4a5568; background:#edf2f7;
  border-radius:4px; padding:1px 6px; margin-left:6px; vertical-align:middle; }
.bar { display:flex; flex-wrap:wrap; gap:10px; align-items:center; justify-content:space-between; }
.chips { display:flex; flex-wrap:wrap; gap:6px; }
.chip { border:1px solid var(--line); border-radius:999px; padding:1px 10px; font-size:12px; color:#4a5568; }
.chip b { font-size:13px; color:#1a202c; }
.chip.v-pass { border-color:var(--pass); } .chip.v-warn { border-color:var(--warn); }
.chip.v-fail { border-color:var(--fail); } .chip.v-not-checked { border-color:var(--nc); }
.filter button { font:inherit; font-size:12px; border:1px solid #cbd5e0; background:#fff; padding:3px 10px;
  cursor:pointer; } .filter button:first-child { border-radius:6px 0 0 6px; }
.filter button:last-child { border-radius:0 6px 6px 0; } .filter button + button { border-left:none; }
.filter button.on { background:#2d3748; color:#fff; border-color:#2d3748; }
.script-checks { margin-top:6px; font-size:13px; } .script-checks summary { cursor:pointer; color:#4a5568; }
.script-checks table { max-width:900px; }
main { max-width:1000px; margin:16px auto; padding:0 16px; }
.card { background:var(--card); border:1px solid var(--line); border-left:4px solid var(--nc); border-radius:8px;
  padding:10px 14px; margin-bottom:12px; }
.card.v-pass { border-left-color:var(--pass); } .card.v-warn { border-left-color:var(--warn); }
.card.v-fail { border-left-color:var(--fail); }
body[data-filter=issues] .card:not(.v-fail):not(.v-warn) { display:none; }
body[data-filter=fail] .card:not(.v-fail) { display:none; }
.head { display:flex; align-items:center; gap:8px; }
.lid { font-size:13px; font-weight:600; } .lang { color:#718096; font-size:12px; }
.badge { display:inline-block; color:#fff; border-radius:4px; padding:0 7px; font-size:11px; font-weight:600;
  text-transform:uppercase; letter-spacing:.03em; background:var(--nc); }
.badge.v-pass { background:var(--pass); } .badge.v-warn { background:var(--warn); }
.badge.v-fail { background:var(--fail); }
.flag { font-size:11px; border:1px solid var(--fail); color:var(--fail); border-radius:4px; padding:0 6px; }
.flag.retried { border-color:#805ad5; color:#805ad5; }
.text { margin:6px 0; font-size:15px; max-height:6.2em; overflow:auto; white-space:pre-wrap; }
.facts { display:flex; flex-wrap:wrap; gap:4px 14px; font-size:12px; color:#2d3748; }
.facts i { font-style:normal; color:#718096; }
.reasons { font-size:12px; color:var(--fail); margin:4px 0; }
.published { color:#555; margin:2px 0 6px; font-size:13px; }
details.passing summary, details.programme summary { cursor:pointer; color:#555; font-size:12px; margin:4px 0; }
.stem { display:flex; gap:8px; align-items:center; font-size:12px; } .stem audio { height:30px; }
.media { display:flex; flex-wrap:wrap; align-items:center; gap:10px; margin:8px 0 4px; }
.media img { width:480px; max-width:100%; height:auto; border:1px solid var(--line); border-radius:4px; }
.media audio { height:32px; width:260px; }
table.checks { width:100%; border-collapse:collapse; font-size:12px; margin-top:6px; }
.checks th { text-align:left; color:#718096; font-weight:500; border-bottom:1px solid var(--line); padding:2px 6px; }
.checks td { border-bottom:1px solid #f0f2f5; padding:2px 6px; vertical-align:top; }
.checks td.num { font-variant-numeric:tabular-nums; white-space:nowrap; }
.checks td.detail { color:#4a5568; max-width:380px; overflow-wrap:anywhere; }
.muted { color:#a0aec0; font-size:12px; margin:4px 0; }
"""

_JS = """
document.querySelectorAll('.filter button').forEach(function (b) {
  b.addEventListener('click', function () {
    document.body.dataset.filter = b.dataset.f;
    document.querySelectorAll('.filter button').forEach(function (o) { o.classList.toggle('on', o === b); });
  });
});
"""
