"""The whole dubflow chain against the loop a user would write instead, on one subtitle file.

One invocation, one machine, one N-line SRT (half English, half Mandarin, two speakers each; cues long enough for
each line), a throwaway local S3 server:
  (a) a plain loop: read the file with pysubs2, speak each line with Piper or the Mandarin voice, write WAVs
      (model loading included, as in a user's script);
  (b) the whole chain (``pipeline.chain.voice``, what the DAG task and ``dubflow voice`` run): ingest, synthesis
      on a local Dask cluster, post-processing and QA with ASR on every line, packaging, publishing — cluster
      start-up and engine loading included;
  (c) (b) again with nothing changed; (d) (b) with one line edited (a fresh local cluster, as `dubflow voice`);
  (e) another line edited, on a cluster that stays up and has voiced this script once (production: the DAG's
      tasks connect to a running scheduler whose workers keep their engines and QA models loaded).
Prints wall times, b/a, c/b, d/b and e/b against the targets, each stage's share of (b) and the parallel efficiency of
(b)'s synthesis. No asserts.

    .venv/bin/python bench/pipeline.py [--lines 100]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from contextlib import nullcontext
from itertools import pairwise
from pathlib import Path

# This file is named like the package it measures: take its folder off the path, and the sentences from engines.py.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
_spec = importlib.util.spec_from_file_location("bench_engines", HERE / "engines.py")
assert _spec is not None and _spec.loader is not None
_sentences = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_sentences)
EN, ZH = _sentences.EN, _sentences.ZH

TARGETS = {"b/a": 1.5, "c/b": 0.03, "d/b": 0.05, "e/b": 0.05}


def script(lines: int) -> str:
    """An SRT of ``lines`` cues alternating English (MAYA, THEO) and Mandarin (林晓, 陈默) speakers."""
    import pysubs2

    subs, at = pysubs2.SSAFile(), 1000
    for n in range(lines):
        zh = n % 2 == 1
        pool, speakers = (ZH, ("林晓", "陈默")) if zh else (EN, ("MAYA", "THEO"))
        text = pool[(n // 2) % len(pool)]
        seconds = max(2.0, len(text) / (4.0 if zh else 12.0)) + 1.0
        subs.append(pysubs2.SSAEvent(start=at, end=at + int(seconds * 1000), text=f"{speakers[n // 2 % 2]}: {text}"))
        at += int(seconds * 1000) + 400
    return subs.to_string("srt")


def plain_loop(path: Path, out: Path) -> float:
    """What a user scripts: pysubs2, the two engines, one WAV per line."""
    import pysubs2
    import soundfile as sf

    from pipeline.engines.base import SynthesisRequest, VoiceRef
    from pipeline.engines.registry import EngineRegistry
    from pipeline.settings import Settings
    from pipeline.text.markup import parse

    started = time.perf_counter()
    registry = EngineRegistry(Settings().engines)
    out.mkdir(parents=True, exist_ok=True)
    for n, event in enumerate(pysubs2.load(str(path))):
        text = event.plaintext.split(": ", 1)[1]
        lang = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"
        engine = registry.get("mandarin" if lang == "zh" else "piper")
        result = engine.synthesize(SynthesisRequest(parse(text), lang, VoiceRef("user"), seed=n))
        sf.write(out / f"{n:04d}.wav", result.samples, result.sample_rate)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100)
    args = parser.parse_args()

    from pipeline import chain
    from pipeline.compute.cluster import LazyClient, cpu_count
    from pipeline.progress import ProgressRecorder
    from pipeline.settings import load_settings
    from pipeline.storage.local_server import LocalS3Server
    from pipeline.storage.store import ObjectStore
    from pipeline.voices.catalog import load_catalog

    class Clock(ProgressRecorder):  # what the DAG task watches a run with (orchestrate.voice_script), plus stage times
        def __init__(self, store: ObjectStore, run_id: str) -> None:
            super().__init__(store, run_id, "bench_ep.srt")
            self.marks: list[tuple[str, float]] = [("ingest", time.perf_counter())]

        def stage(self, name: str) -> None:
            super().stage(name)
            self.marks.append((name, time.perf_counter()))

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        srt = root / "bench_ep.srt"
        srt.write_text(script(args.lines))
        a = plain_loop(srt, root / "loop")
        server = LocalS3Server(root / "s3", s3_port=0)
        server.start()
        try:
            base = load_settings()
            local = base.storage.local.model_copy(update={"data_dir": server.data_dir})
            storage = base.storage.model_copy(update={"endpoint": None, "local": local, "bucket_prefix": "bench-"})
            settings = base.model_copy(update={"storage": storage})
            store = ObjectStore.from_settings(settings.storage)
            store.ensure_buckets()
            catalog = load_catalog(settings.voices_file)
            runs: dict[str, tuple[float, chain.Outcome, Clock]] = {}
            edited = srt.read_text().replace(EN[0], EN[0].replace("dawn", "first light"), 1)
            warm = edited.replace(ZH[0], ZH[0].replace("。", "！"), 1)  # voiced on the standing cluster first
            edited_again = warm.replace(EN[1], EN[1] + " Now.", 1)
            standing = LazyClient(settings.dask)  # a cluster that stays up, as production's scheduler does
            runs_of = (("b", srt.read_text(), None), ("c", srt.read_text(), None), ("d", edited, None),
                       ("warm", warm, standing), ("e", edited_again, standing))  # fmt: skip
            with standing:
                for name, data, client in runs_of:
                    started = time.perf_counter()
                    options = chain.Options(f"bench-{name}", voices={"THEO": "en-joe"})  # Piper for both, as the loop
                    voiced = chain.Script(srt.name, data.encode(), "demo")
                    with (
                        LazyClient(settings.dask) if client is None else nullcontext(client) as active,
                        Clock(store, options.run_id) as clock,
                    ):
                        outcome = chain.voice(settings, voiced, options, store=store, catalog=catalog, client=active,
                                              watcher=clock)  # fmt: skip
                    clock.marks.append(("end", time.perf_counter()))
                    runs[name] = (time.perf_counter() - started, outcome, clock)
        finally:
            server.stop()

    b, outcome, clock = runs["b"]
    ratios = {"b/a": b / a, "c/b": runs["c"][0] / b, "d/b": runs["d"][0] / b, "e/b": runs["e"][0] / b}
    report = outcome.report
    counts = outcome.package.qa.counts() if outcome.package else {}
    print(
        f"\n{args.lines} lines (half en Piper, half zh FastSpeech2), {cpu_count()} cores, QA with ASR on every line\n"
    )
    print("| run | wall s | notes |\n|---|---|---|")
    print(f"| (a) plain loop (pysubs2 + engines, WAVs) | {a:.1f} | model loading included |")
    labels = {"b": "(b) dubflow chain", "c": "(c) again, nothing changed", "d": "(d) one line edited",
              "e": "(e) one line edited, on a running cluster"}  # fmt: skip
    for name, label in labels.items():
        seconds, run, _ = runs[name]
        note = run.report.summary() if run.report else run.status
        print(f"| {label} | {seconds:.1f} | {note}; {run.status} |")
    print("\n| ratio | measured | target |\n|---|---|---|")
    for key, value in ratios.items():
        print(f"| {key} | {value:.2f} | ≤ {TARGETS[key]} {'met' if value <= TARGETS[key] else 'NOT met'} |")
    print("\n| stage | (b) s | share of (b) | (d) s | (e) s |\n|---|---|---|---|---|")
    spans = {name: _spans(runs[name][2].marks) for name in ("b", "d", "e")}
    for stage, seconds in spans["b"].items():
        d, e = spans["d"].get(stage, 0.0), spans["e"].get(stage, 0.0)
        print(f"| {stage} | {seconds:.1f} | {seconds / b:.0%} | {d:.1f} | {e:.1f} |")
    if report and report.workers:
        synth_wall = next(
            u - t for (s, t), (_, u) in zip(clock.marks, clock.marks[1:], strict=False) if s == "synthesize"
        )
        efficiency = report.synth_seconds / (report.workers * synth_wall)
        print(f"\nsynthesis on {report.workers} workers: {report.synth_seconds:.1f} s of engine time in "
              f"{synth_wall:.1f} s (parallel efficiency {efficiency:.0%}, cluster start-up and engine loading "
              f"included); QA {counts}")  # fmt: skip
    print(f"progress: {clock.writes} writes to staging, {clock.write_seconds:.2f} s on a background thread "
          f"({clock.write_seconds / b:.1%} of (b))")  # fmt: skip


def _spans(marks: list[tuple[str, float]]) -> dict[str, float]:
    """Seconds per stage from the stage marks (``stage`` → when it began)."""
    return {stage: until - at for (stage, at), (_, until) in pairwise(marks)}


if __name__ == "__main__":
    main()
