"""Post-processing + QA cost against synthesis cost, per minute of audio, on the sample scripts' lines.

In one process, for every line of the English and Mandarin samples: synthesis (the engine), post-processing
(trim, resample, time-fit, loudness + true-peak limit), the signal checks, ASR (Whisper tiny.en, English only; the
dominant term) and speaker similarity (Resemblyzer against a reference made from the voice's own first line).
Model loading is done before timing and printed separately. Prints a table; no asserts.

    .venv/bin/python bench/postqa.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import soundfile as sf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=2, help="passes over the lines (median per stage)")
    args = parser.parse_args()

    from pipeline.audio.process import process_clip
    from pipeline.audio.profiles import resolve_profile
    from pipeline.engines.registry import EngineRegistry
    from pipeline.qa import models
    from pipeline.qa.checks import line_checks
    from pipeline.scripts.ingest import ingest_file
    from pipeline.settings import load_settings
    from pipeline.voices.catalog import load_catalog
    from pipeline.voices.plan import plan_jobs
    from pipeline.voices.speak import reference_file, speak

    settings = load_settings()
    catalog = load_catalog(settings.voices_file)
    profile = resolve_profile(settings.audio.profiles_file, "broadcast")
    registry = EngineRegistry(settings.engines)
    lines = []
    for sample in ("samples/en_dub_ep01.srt", "samples/zh_linesheet.csv", "samples/narration_harbour.md"):
        lines += ingest_file(Path(sample), settings.ingest, voice_map=catalog.voice_map("demo")).lines
    asr_models = models.default_asr_models()

    start = time.perf_counter()
    jobs, failures = plan_jobs(lines, catalog, "demo", registry, 0)  # the workers' plan and speaking path
    assert not failures, failures
    clips = [speak(registry, job, reference_file(job.reference)).result for job in jobs]  # loads the engines too
    reference = Path("/tmp/dubflow-bench-ref.wav")
    first = clips[0]
    sf.write(reference, first.samples, first.sample_rate)
    models.intelligibility(first.samples, first.sample_rate, "warm up", "en", asr_models, profile)
    models.similarity(first.samples, first.sample_rate, reference, profile)
    warm = time.perf_counter() - start

    stages: dict[str, list[float]] = {"synthesis": [], "post-processing": [], "signal checks": [], "ASR (en)": [],
                                      "speaker similarity": []}  # fmt: skip
    audio_s = sum(result.duration for result in clips)
    for _ in range(args.repeat):
        totals = dict.fromkeys(stages, 0.0)
        for job in jobs:
            line = job.line
            t0 = time.perf_counter()
            result = speak(registry, job, reference_file(job.reference)).result
            t1 = time.perf_counter()
            cue = None if line.start is None or line.end is None else line.end - line.start
            processed = process_clip(result.samples, result.sample_rate, profile, cue, 0.3)
            t2 = time.perf_counter()
            line_checks(processed.samples, processed.rate, processed.fit, line.spoken_text, line.lang, profile)
            t3 = time.perf_counter()
            models.intelligibility(processed.samples, processed.rate, line.spoken_text, line.lang, asr_models, profile)
            t4 = time.perf_counter()
            models.similarity(processed.samples, processed.rate, reference, profile)
            t5 = time.perf_counter()
            for name, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
                totals[name] += seconds
        for name in stages:
            stages[name].append(totals[name])

    median = {name: statistics.median(values) for name, values in stages.items()}
    synth = median["synthesis"]
    english = sum(result.duration for job, result in zip(jobs, clips, strict=True) if job.line.lang == "en")
    print(
        f"\n{len(lines)} lines, {audio_s / 60:.2f} min of audio ({english / 60:.2f} min English); model loading "
        f"(engines, Whisper, Resemblyzer incl. its first-call JIT) {warm:.1f} s, not counted\n"
    )
    print("| stage | s total | s per audio minute | share of synthesis |\n|---|---|---|---|")
    for name, seconds in median.items():
        print(f"| {name} | {seconds:.2f} | {seconds / (audio_s / 60):.2f} | {seconds / synth:.0%} |")
    gate = sum(v for k, v in median.items() if k != "synthesis")
    no_asr = gate - median["ASR (en)"]
    print(
        f"\nwhole gate: {gate / synth:.0%} of synthesis time; without ASR: {no_asr / synth:.0%}; "
        f"ASR alone: {median['ASR (en)'] / synth:.0%}"
    )


if __name__ == "__main__":
    main()
