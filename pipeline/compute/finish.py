"""Post-processing and QA fanned out per line on the workers that hold the engines (for re-synthesis).

Each line's result is cached next to its processed clip (``post/…qa.json``, addressed by the raw clip, the profile,
the QA settings and the line's slot), so a re-run with nothing changed needs no cluster.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import groupby
from typing import Any

from pipeline import metrics
from pipeline.audio.profiles import Profile
from pipeline.compute.cluster import LazyClient
from pipeline.compute.fanout import RunReport, ensure_engines
from pipeline.compute.jobs import Job
from pipeline.compute.plugin import current_plugin
from pipeline.compute.shards import task_resources
from pipeline.events import RunTag, line_event
from pipeline.qa.gate import Slot, finish_line
from pipeline.qa.model import Check, LineQa
from pipeline.settings import QaSettings, Settings
from pipeline.storage.store import ObjectStore

log = logging.getLogger(__name__)


def slots(jobs: list[Job]) -> dict[str, Slot]:
    """Cue length and the gap to the next cue (same language), for lines the script times."""
    out: dict[str, Slot] = {}
    timed = sorted((j for j in jobs if j.line.start is not None and j.line.end is not None),
                   key=lambda j: (j.line.lang, j.line.start))  # fmt: skip
    for n, job in enumerate(timed):
        nxt = timed[n + 1] if n + 1 < len(timed) and timed[n + 1].line.lang == job.line.lang else None
        gap = None if nxt is None else max(0.0, nxt.line.start - job.line.end)
        out[job.line.line_id] = Slot(job.line.end - job.line.start, gap)
    for job in jobs:
        out.setdefault(job.line.line_id, Slot(None, None))
    return out


def qa_key(raw_key: str, job: Job, profile: Profile, qa: QaSettings, slot: Slot) -> str:
    """Everything the result depends on: the raw clip (text, voice and reference are in its key), where the line
    sits (start, slot, gap), the voice, the profile and the QA settings."""
    identity = [raw_key, job.line.start, job.voice.id, job.line.spoken_text, profile.model_dump(mode="json"),
                qa.model_dump(mode="json"), slot.cue_s, slot.gap_after_s]  # fmt: skip
    digest = hashlib.sha256(json.dumps(identity, default=str).encode()).hexdigest()
    return f"post/{digest[:2]}/{digest}.qa.json"


def finish_batch(plugin_name: str, items: list[tuple[Job, str, str | None, Slot, str]], profile: Profile,
                 qa: QaSettings, tag: RunTag | None = None) -> list[LineQa]:  # fmt: skip
    """Dask task: post-process and check each line; an error is a failed, quarantined line, never a lost one."""
    plugin = current_plugin(plugin_name)
    assert plugin.store is not None
    results = []
    for job, raw_key, engine, slot, result_key in items:
        failure = "qa_quarantine"
        try:
            with metrics.IN_PROGRESS.track_inprogress():
                line_qa = finish_line(plugin, job, raw_key, engine, slot, profile, qa, tag)
        except Exception as exc:
            failure = "post_processing"
            reason = f"post-processing failed: {type(exc).__name__}: {exc}"
            line_qa = LineQa(job.line.line_id, job.line.lang, job.line.text, "fail",
                             [Check("post_processing", "fail", detail=reason)], quarantined=True, reasons=[reason],
                             voice=job.voice.id, engine=engine)  # fmt: skip
        else:
            if not any(c.name == "retake" for c in line_qa.checks):  # a retake that could not run is not final
                plugin.store.put_bytes("staging", result_key, json.dumps(line_qa.to_dict()).encode(),
                                       content_type="application/json")  # fmt: skip
        account_qa(job, line_qa, plugin.address, tag, failure)
        results.append(line_qa)
    return results


def account_qa(job: Job, line_qa: LineQa, worker: str, tag: RunTag | None, failure: str) -> None:
    """One line's QA outcome on this worker: its metrics and its log event."""
    metrics.qa_verdict(line_qa.verdict, line_qa.quarantined)
    engine = line_qa.engine or job.engines[0]
    failed = [c.name for c in line_qa.checks if c.verdict == "fail"]
    if line_qa.quarantined:
        metrics.line_failed(engine, failure)
    line_event(log, "line checked", tag, job.line, logging.WARNING if line_qa.quarantined else logging.INFO,
               verdict=line_qa.verdict, quarantined=line_qa.quarantined, engine=engine, worker=worker,
               attempts=line_qa.attempts, failed_checks=failed or None,
               reason=failure if line_qa.quarantined else None, key=line_qa.key)  # fmt: skip


def finish(report: RunReport, settings: Settings, profile: Profile, store: ObjectStore, client: Any,
           batch_size: int = 4, force: bool = False,
           progress: Callable[[LineQa], None] | None = None) -> list[LineQa]:  # fmt: skip
    """Post-process and QA every synthesized line of ``report``; returns results in script order. ``force`` (with a
    forced re-synthesis) ignores cached results: they are keyed by the raw clip's key, whose content just changed."""
    qa = settings.qa
    tag = RunTag(report.run_id, report.project)
    ready = [r for r in report.results if r.status != "failed" and r.key]
    jobs = [report.jobs[r.line.line_id] for r in ready]
    slot_of = slots(jobs)
    items = [
        (
            job,
            r.key,
            r.clip.engine if r.clip else None,
            slot_of[job.line.line_id],
            qa_key(r.key, job, profile, qa, slot_of[job.line.line_id]),
        )
        for job, r in zip(jobs, ready, strict=True)
    ]

    def cached(item: tuple[Job, str, str | None, Slot, str]) -> LineQa | None:
        if not store.exists("staging", item[4]):
            return None
        data = json.loads(store.get_bytes("staging", item[4]))
        data["checks"] = [Check(**c) for c in data["checks"]]
        line_qa = LineQa(**data)
        return line_qa if line_qa.key and store.exists("staging", line_qa.key) else None

    with ThreadPoolExecutor(max_workers=16) as pool:
        found = [None] * len(items) if force else list(pool.map(cached, items))
    results = {q.line_id: q for q in found if q is not None}
    for line_qa in results.values():
        _client_event(report, tag, line_qa, cached=True)
        if progress is not None:
            progress(line_qa)
    pending = [item for item, q in zip(items, found, strict=True) if q is None]
    if pending:
        from distributed import as_completed

        active = client() if isinstance(client, LazyClient) else client
        name = ensure_engines(active, settings, store, sorted({item[0].engines[0] for item in pending})).name
        batches: dict[str, list[tuple[Job, str, str | None, Slot, str]]] = {}
        futures = []
        for gpu in (True, False):  # retakes of GPU-engine lines must run where that engine is (and its shard)
            on_gpu = sorted((item for item in pending if item[0].gpu == gpu), key=lambda item: item[0].shard or "")
            for shard, same in groupby(on_gpu, key=lambda item: item[0].shard):
                group = list(same)
                for i in range(0, len(group), batch_size):
                    future = active.submit(
                        finish_batch,
                        name,
                        group[i : i + batch_size],
                        profile,
                        qa,
                        tag,
                        pure=False,
                        priority=-group[i][0].line.index,
                        resources=task_resources(gpu, shard),
                    )
                    batches[future.key] = group[i : i + batch_size]
                    futures.append(future)  # fmt: skip
        for future in as_completed(futures):
            try:
                checked = future.result()
            except Exception as exc:  # the task itself died (its workers were killed): its lines fail, clearly
                reason = f"post-processing task failed: {type(exc).__name__}: {exc}"
                checked = [LineQa(job.line.line_id, job.line.lang, job.line.text, "fail",
                                  [Check("post_processing", "fail", detail=reason)], quarantined=True,
                                  reasons=[reason], voice=job.voice.id, engine=engine)
                           for job, _, engine, _, _ in batches[future.key]]  # fmt: skip
            for line_qa in checked:
                results[line_qa.line_id] = line_qa
                _client_event(report, tag, line_qa, cached=False)
                if progress is not None:
                    progress(line_qa)
    return [results[r.line.line_id] for r in ready]


def _client_event(report: RunReport, tag: RunTag, line_qa: LineQa, cached: bool) -> None:
    line_event(log, "line checked", tag, report.jobs[line_qa.line_id].line,
               logging.WARNING if line_qa.quarantined else logging.INFO, verdict=line_qa.verdict,
               quarantined=line_qa.quarantined, engine=line_qa.engine, attempts=line_qa.attempts, cached=cached,
               reasons=line_qa.reasons or None)  # fmt: skip
