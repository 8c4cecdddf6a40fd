"""Intelligibility scores of our engines' clean output against deliberately damaged audio, per language.

For every English and Mandarin line of the samples: each line spoken by its planned voice (the production plan
and speaking path) and by espeak-ng, then scored by the QA gate's own ASR check (``qa.models``) as it is, with
0 dB white noise added, truncated to its first 40 %, and against another line's text. Prints, per language and
condition, how many lines and the min / median / max error rate (WER for en, toneless-pinyin syllable error rate
for zh; ``error_rate`` says why), plus the share over the profiles' warn and fail thresholds. No asserts.

    .venv/bin/python bench/asr_calibration.py
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np


def main() -> None:
    from pipeline.audio.profiles import resolve_profile
    from pipeline.engines.registry import EngineRegistry
    from pipeline.qa.models import default_asr_models, intelligibility
    from pipeline.scripts.ingest import ingest_file
    from pipeline.settings import load_settings
    from pipeline.voices.catalog import load_catalog
    from pipeline.voices.plan import plan_jobs
    from pipeline.voices.speak import reference_file, speak

    settings = load_settings()
    catalog = load_catalog(settings.voices_file)
    profile = resolve_profile(settings.audio.profiles_file, "broadcast")
    registry = EngineRegistry(settings.engines)
    models = {**default_asr_models(settings.qa.model_cache), **settings.qa.asr_models}
    lines = []
    for sample in ("samples/en_dub_ep01.srt", "samples/zh_linesheet.csv", "samples/narration_harbour.md"):
        lines += ingest_file(Path(sample), settings.ingest, voice_map=catalog.voice_map("demo")).lines
    jobs, failures = plan_jobs(lines, catalog, "demo", registry, 0)
    assert not failures, failures
    rng = np.random.default_rng(0)
    scores: dict[tuple[str, str], list[float]] = {}
    started = time.perf_counter()
    for n, job in enumerate(jobs):
        lang, other = job.line.lang, jobs[(n + 1) % len(jobs)].line
        for engine in dict.fromkeys((job.engines[0], "espeak")):
            result = speak(registry, job, reference_file(job.reference), engines=(engine,)).result
            x, rate = result.samples, result.sample_rate
            noisy = x + rng.normal(0, float(np.sqrt(np.mean(x**2))), x.shape).astype(np.float32)
            text = job.line.spoken_text
            cases = {f"{engine} clean": (x, text), f"{engine} noise 0 dB": (noisy, text),
                     f"{engine} first 40 %": (x[: int(0.4 * len(x))], text)}  # fmt: skip
            if engine == job.engines[0]:
                cases[f"{engine} wrong text"] = (x, other.spoken_text)
            for name, (audio, text) in cases.items():
                check = intelligibility(audio, rate, text, lang, models, profile)
                if check.value is not None:
                    scores.setdefault((lang, name), []).append(check.value)
    print(
        f"\n{len(jobs)} lines, {time.perf_counter() - started:.0f} s; thresholds = profile broadcast's qa.asr_error\n"
    )
    print(
        "| lang | voice, condition | lines | min | median | max | > warn | > fail |\n|---|---|---|---|---|---|---|---|"
    )
    for (lang, name), values in sorted(scores.items()):
        warn, fail = profile.qa.asr_band(lang)
        over_warn, over_fail = (sum(v > t for v in values) / len(values) for t in (warn, fail))
        print(f"| {lang} | {name} | {len(values)} | {min(values):.2f} | {statistics.median(values):.2f} | "
              f"{max(values):.2f} | {over_warn:.0%} | {over_fail:.0%} |")  # fmt: skip


if __name__ == "__main__":
    main()
