"""Post-processing and QA fanned out per line on the workers that hold the engines (for re-synthesis).

Each line's result is cached next to its processed clip (``post/…qa.json``, addressed by the raw clip, the profile,
the QA settings and the line's slot), so a re-run with nothing changed needs no cluster.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from pipeline import metrics
from pipeline.audio.profiles import Profile
from pipeline.compute.cluster import LazyClient
from pipeline.compute.fanout import LineResult, RunReport, Stage, ensure_engines
from pipeline.compute.plugin import current_plugin
from pipeline.compute.shards import task_resources
from pipeline.events import RunTag, line_event
from pipeline.qa.gate import Gate, Slot, finish_lines, result_key, slots
from pipeline.qa.results import Check, LineQa
from pipeline.settings import QaSettings
from pipeline.voices.plan import Job

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ToCheck:
    """One synthesized line on its way through the gate: its synthesis result, its slot, where its QA result goes."""

    result: LineResult
    slot: Slot
    result_key: str

    @property
    def job(self) -> Job:
        assert self.result.job is not None  # only synthesized and cached lines are checked
        return self.result.job

    def failed(self, reason: str) -> LineQa:
        """The line as a failed, quarantined one: an error is never a lost line."""
        line, failed = self.job.line, [Check("post_processing", "fail", detail=reason)]
        held = {"quarantined": True, "reasons": [reason], "voice": self.job.voice.id, "engine": self.result.engine}
        return LineQa(line.line_id, line.lang, line.text, "fail", failed, **held, lexicon=list(line.lexicon), line=line)


def finish_batch(
    plugin_name: str, items: list[ToCheck], profile: Profile, qa: QaSettings, tag: RunTag | None = None
) -> list[LineQa]:
    """Dask task: post-process and check the batch's lines (their ASR packed); an error is a failed, quarantined
    line, never a lost one."""
    plugin = current_plugin(plugin_name)
    assert plugin.store is not None and plugin.registry is not None
    lines = [(item.job, item.result.key or "", item.result.engine, item.slot) for item in items]
    with metrics.IN_PROGRESS.track_inprogress():
        outcomes = finish_lines(Gate(plugin.registry, plugin.store, profile, qa, tag, plugin.address), lines)
    results = []
    for item, outcome in zip(items, outcomes, strict=True):
        failure = "qa_quarantine"
        if isinstance(outcome, Exception):
            failure = "post_processing"
            line_qa = item.failed(f"post-processing failed: {type(outcome).__name__}: {outcome}")
        else:
            line_qa = outcome
            if not any(c.name == "resynthesis" for c in line_qa.checks):  # a new take that could not run: not final
                plugin.store.put_bytes(
                    "staging", item.result_key, json.dumps(line_qa.to_dict()).encode(), content_type="application/json"
                )
        account_qa(item.job, line_qa, plugin.address, tag, failure)
        results.append(line_qa)
    return results


def account_qa(job: Job, line_qa: LineQa, worker: str, tag: RunTag | None, failure: str) -> None:
    """One line's QA outcome on this worker: its metrics and its log event."""
    metrics.qa_verdict(line_qa.verdict, line_qa.quarantined)
    engine = line_qa.engine or job.engines[0]
    failed = [c.name for c in line_qa.checks if c.verdict == "fail"]
    if line_qa.quarantined:
        metrics.line_failed(engine, failure)
    reason = failure if line_qa.quarantined else None
    level, fields = _checked(line_qa, engine, worker=worker, attempts=line_qa.attempts, failed_checks=failed or None)
    line_event(log, "line checked", tag, job.line, level, **fields, reason=reason, key=line_qa.key)


def _checked(line_qa: LineQa, engine: str | None, **more: Any) -> tuple[int, dict[str, Any]]:
    """A "line checked" event's level and fields, as a worker and the client log it."""
    fields = {"verdict": line_qa.verdict, "quarantined": line_qa.quarantined, "engine": engine, **more}
    return logging.WARNING if line_qa.quarantined else logging.INFO, fields


BATCH_SIZE = 8  # lines per post-processing task
Checked = Callable[[LineQa], None]


def finish(
    report: RunReport, stage: Stage, profile: Profile, force: bool = False, progress: Checked | None = None
) -> list[LineQa]:
    """Post-process and QA every synthesized line of ``report``; returns results in script order. ``force`` (with a
    forced re-synthesis) ignores cached results: they are keyed by the raw clip's key, whose content just changed."""
    qa, store = stage.settings.qa, stage.store
    tag = RunTag(report.run_id, report.project)
    ready = [r for r in report.results if r.status != "failed" and r.key and r.job]
    slot_of = slots([r.job for r in ready if r.job])
    placed = [(r, r.job, slot_of[r.line.line_id]) for r in ready if r.job]
    items = [ToCheck(r, slot, result_key(r.key or "", job, profile, qa, slot)) for r, job, slot in placed]
    results: dict[str, LineQa] = {}

    def done(item: ToCheck, line_qa: LineQa, cached: bool) -> None:
        line_qa.line = item.job.line  # the record goes on with its line (not serialized: the cache keeps ids only)
        line_qa.lexicon = list(item.job.line.lexicon)  # this run's lexicon, whatever a cached result recorded
        results[line_qa.line_id] = line_qa
        level, fields = _checked(line_qa, line_qa.engine, attempts=line_qa.attempts, cached=cached)
        line_event(log, "line checked", tag, item.job.line, level, **fields, reasons=line_qa.reasons or None)
        if progress is not None:
            progress(line_qa)

    def cached(item: ToCheck) -> LineQa | None:
        if force or not store.exists("staging", item.result_key):
            return None
        line_qa = LineQa.from_dict(json.loads(store.get_bytes("staging", item.result_key)))
        return line_qa if line_qa.key and store.exists("staging", line_qa.key) else None

    with ThreadPoolExecutor(max_workers=16) as pool:
        found = list(pool.map(cached, items))
    pending = []
    for item, line_qa in zip(items, found, strict=True):
        if line_qa is None:
            pending.append(item)
        else:
            done(item, line_qa, cached=True)
    if pending:
        from distributed import as_completed

        active = stage.client() if isinstance(stage.client, LazyClient) else stage.client
        name = ensure_engines(active, stage.settings, store, sorted({item.job.engines[0] for item in pending})).name
        batches: dict[Any, list[ToCheck]] = {}  # future → its lines
        # New takes of GPU-engine lines must run where that engine is (and its shard).
        # One language per batch where possible: its lines share Whisper windows (qa.asr_pack).
        on_gpu = sorted(pending, key=lambda item: (item.job.gpu, item.job.shard or "", item.job.line.lang))
        for (gpu, shard), same in groupby(on_gpu, key=lambda item: (item.job.gpu, item.job.shard)):
            group, options = list(same), {"pure": False, "resources": task_resources(gpu, shard)}
            for batch in (group[i : i + BATCH_SIZE] for i in range(0, len(group), BATCH_SIZE)):
                priority = -batch[0].job.line.index  # script order
                future = active.submit(finish_batch, name, batch, profile, qa, tag, priority=priority, **options)
                batches[future] = batch
        for future in as_completed(list(batches)):
            batch = batches[future]
            try:
                checked = future.result()
            except Exception as exc:  # the task itself died (its workers were killed): its lines fail, clearly
                checked = [item.failed(f"post-processing task failed: {type(exc).__name__}: {exc}") for item in batch]
            for item, line_qa in zip(batch, checked, strict=True):
                done(item, line_qa, cached=False)
    return [results[item.job.line.line_id] for item in items]
