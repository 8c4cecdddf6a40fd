"""dubflow's scheduled voicing DAGs: ``dubflow_dubbing`` and ``dubflow_narration``.

One factory, two DAGs: they differ only in the kinds of script they pick up from the shared inbox (dubbing: subtitles
and line sheets; narration: manuscripts), their default delivery profile, schedule and docs, and a studio usually
wants to pause, backfill or pool them separately. Every task is one call into ``pipeline`` with ids and
URIs in and out; synthesis and QA fan out per line on Dask, not here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import DAG, AssetOrTimeSchedule, CronTriggerTimetable, Param, get_current_context, task
from airflow.sdk.configuration import conf
from airflow.sdk.exceptions import AirflowSkipException
from dubflow_airflow.assets import PUBLISHED, published_asset
from dubflow_airflow.hooks import REPO, bad_input_fails_fast, base_settings, in_repo, pipeline_settings
from dubflow_airflow.inbox_watch import event_keys, inbox_asset

from pipeline.audio.profiles import load_profiles
from pipeline.ids import ID_PARAM_PATTERN as ID
from pipeline.ids import MAX_TAKE
from pipeline.storage.keys import INBOX_KEY_PATTERN

_SETTINGS = base_settings()  # the form's choices: the configured profiles and enabled engines (None = each voice's own)
PROFILES = sorted(load_profiles(REPO / _SETTINGS.audio.profiles_file))  # an absolute path stays as it is
ENGINES = [None, *_SETTINGS.engines.enabled]
RETAKE_FIELDS = {
    "take": {"type": "integer", "minimum": 1, "maximum": MAX_TAKE},
    "note": {"type": "string", "maxLength": 1000},
    "reviewer": {"type": "string", "maxLength": 200},
    "from_version": {"type": ["integer", "null"], "minimum": 1},
    "change": {  # what the reviewer asked this take to change (pipeline.review.check_change)
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "style": {"type": "string", "minLength": 1, "maxLength": 2000},
            "speed": {"type": "number", "minimum": 0.5, "maximum": 2.0},
            "voice": {"type": "string", "pattern": ID},
            "say": {"type": "string", "minLength": 1, "maxLength": 2000},
        },
    },
}
# The first retry's delay (then exponential): Airflow config [dubflow] retry_delay_seconds, e.g.
# AIRFLOW__DUBFLOW__RETRY_DELAY_SECONDS (the e2e tests use 2 s).
RETRY_DELAY = timedelta(seconds=conf.getint("dubflow", "retry_delay_seconds", fallback=20))
# Prompt pickup (dubflow_airflow.inbox_watch): settings inbox.poll_seconds and inbox.daily_only.
INBOX = inbox_asset(_SETTINGS.inbox.poll_seconds)
LABEL = "{{ task.op_kwargs['item']['name'] }}"  # a mapped voice_script is named by its script file
RETAKE_ENTRY = {"type": "object", "required": ["take"], "additionalProperties": False, "properties": RETAKE_FIELDS}

DOC = """
### {title}

Voices every {kind} script that arrived in the **inbox** of a project during the run's data interval, or the
one script you name, and publishes what passes QA to object storage.

**Run it by hand**: the DAG's **Voice scripts** tab lists the inbox's scripts of a project to pick (one run each,
straight to its Review tab), with the same options. Or ▶ *Trigger DAG*: *project*, and either leave *script_key*
empty (all scripts of the interval) or paste one inbox key such as `demo/2026-11-23/zh_linesheet.csv`
(`dubflow inbox list --project P` prints the keys); pick a *delivery profile*; tick *dry_run* to only validate the
script; tick *force* to synthesize every line again and publish a **new version** even when nothing changed;
*voices* recasts speakers for this run (`{{"MAYA": "en-espeak"}}`) and *engine* speaks every line with one engine.
Both are recorded in the manifest (`source.overrides`).

**Retakes**: the review page triggers this DAG when a reviewer rejects lines of a published version: *script_key*
names the script and *retake* maps each rejected line id to its next take, with the reviewer's note and what to
change: another seed (the default), a *style* instruction, a *speed*, another catalog *voice*, or what to *say*
(markup, e.g. a pronunciation). Those lines are synthesized again, and a new version is published whose manifest
records each line's `take` and the reviews (`source.review`); the other lines are reused unchanged. Later runs
keep the takes and their changes. espeak-ng voices have no randomness: their retake is the same audio unless
something else changes.

**Where the results are**: each mapped *voice_script* instance is labelled with its script; its return value
shows the version, the manifest URI and the QA counts. Quarantined lines are listed in the manifest's
`source.quarantined` with their reasons. `dubflow catalog list` shows every published version.

Queue a script: `dubflow inbox put FILE --project P`. Backfill: `airflow backfill create --dag-id {dag_id}
--from-date 2026-11-01 --to-date 2026-11-07 --reprocess-behavior completed` (re-running an interval never
duplicates assets: the publish protocol is idempotent).
"""


def _interval() -> tuple[Any, Any]:
    context = get_current_context()
    # Runs triggered without a logical date (allowed in Airflow 3) fall back to when they were asked to run.
    start = context.get("data_interval_start") or context.get("logical_date") or context["dag_run"].run_after
    end = context.get("data_interval_end") or start
    if end <= start:
        end = start + timedelta(days=1)
    return start.date(), end.date()


def schedule_of(kind: str) -> Any:
    """Daily (the data intervals backfills cover), and unless ``inbox.daily_only`` names the kind also whenever the
    inbox watcher fires."""
    daily = CronTriggerTimetable("0 0 * * *", timezone="UTC")
    return daily if kind in _SETTINGS.inbox.daily_only else AssetOrTimeSchedule(timetable=daily, assets=INBOX)


def voicing_dag(dag_id: str, title: str, profile: str) -> DAG:
    """One voicing DAG; it picks up the scripts of the kind it is named after (``dubflow_<kind>``, see
    ``pipeline.orchestrate.SCRIPT_KINDS``)."""
    kind = dag_id.removeprefix("dubflow_")
    with DAG(
        dag_id=dag_id,
        schedule=schedule_of(kind),
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=2,
        tags=["dubflow", kind],
        doc_md=DOC.format(title=title, dag_id=dag_id, kind=kind),
        default_args={
            "owner": "dubflow",
            "retries": 2,
            "retry_delay": RETRY_DELAY,
            "retry_exponential_backoff": True,
            "max_retry_delay": timedelta(minutes=10),
        },
        params={
            "project": Param("demo", type="string", pattern=ID, description="Project whose inbox and voice map to use"),
            "script_key": Param(
                None,
                type=["null", "string"],
                pattern=f"^{INBOX_KEY_PATTERN}$",
                description="One inbox key to voice, project/YYYY-MM-DD/file (e.g. demo/2026-12-01/en_dub_ep01.srt; "
                "the DAG's Voice scripts tab lists the inbox to pick from); empty = every script of the run's interval",
            ),
            "profile": Param(profile, type="string", enum=PROFILES, description="Delivery profile"),
            "force": Param(
                False,
                type="boolean",
                description="Synthesize every line again, ignoring the cache, and publish the result as a NEW VERSION "
                "even when nothing changed (its QA verdicts may differ from the last version's)",
            ),
            "dry_run": Param(False, type="boolean", description="Only ingest and validate"),
            "voices": Param(
                {},
                type="object",
                propertyNames={"maxLength": 100},
                additionalProperties={"type": "string", "pattern": ID},
                description="Recast for this run: speaker → voice id from configs/voices.yaml "
                '(e.g. {"MAYA": "en-espeak"})',
            ),
            "engine": Param(
                None,
                type=["null", "string"],
                enum=ENGINES,
                values_display={"null": "each voice's own engine"},  # Airflow's form would show the word "null"
                description="Speak every line with this engine instead of each voice's own",
            ),
            "retake": Param(
                {},
                type="object",
                propertyNames={"pattern": ID},
                additionalProperties=RETAKE_ENTRY,
                description="Set by the review page: line id → {take, note, reviewer, from_version}; needs script_key",
            ),
        },
    ) as dag:

        @task
        def discover() -> list[dict[str, str]]:
            from pipeline.orchestrate import discover_scripts, script_kind

            context = get_current_context()
            params = context["params"]
            project, key, retake = params["project"], params["script_key"], params["retake"]
            announced = [k for k in event_keys(context.get("triggering_asset_events") or {}, INBOX) if not key]
            with in_repo(), bad_input_fails_fast():
                settings = pipeline_settings()
                if announced:  # the inbox watcher's new scripts of this DAG's kind (or of none: reported here)
                    ours = [k for k in announced if script_kind(k) in (kind, None)]
                    return [i for k in ours for i in discover_scripts(settings, k.split("/")[0], None, None, k)]
                interval = _interval() if not key else (None, None)
                return discover_scripts(settings, project, *interval, key, kinds=[kind], retake=retake)

        # The label is rendered from the task's own input, so Airflow shows it as soon as the task starts (a label
        # set inside the task shows only once it ends). One return value, not one XCom per key (TaskFlow's default
        # for a dict): the XCom tab shows it whole.
        @task(pool="dubflow_synthesis", map_index_template=LABEL, multiple_outputs=False)
        def voice_script(item: dict[str, str]) -> dict[str, Any]:
            from pipeline.orchestrate import voice_script as run

            context = get_current_context()
            params = context["params"]
            options = {k: params[k] for k in ("profile", "force", "dry_run", "engine")}
            options |= {k: params[k] or None for k in ("retake", "voices")}  # an empty mapping: none
            with in_repo(), bad_input_fails_fast():
                return run(pipeline_settings(), item, context["run_id"], **options)

        @task(outlets=[PUBLISHED], trigger_rule="all_done", multiple_outputs=False)
        def summarize(discovered: list[dict[str, str]] | None, results: list[dict[str, Any]]) -> dict[str, Any]:
            if discovered is None:  # discover failed (its error is the run's): nothing was voiced, nothing to say
                raise AirflowSkipException("discover failed: no scripts were voiced")
            context = get_current_context()
            results = [r for r in results or [] if r]
            # Only versions this run published: a re-run of an interval must not re-trigger consumers.
            published = [r for r in results if r.get("manifest") and not r.get("already_published")]
            for result in published:  # one asset event per published version, named by project
                extra = {"manifest": result["manifest"], "script_id": result["script_id"]}
                context["outlet_events"][PUBLISHED].add(published_asset(result), extra=extra)
            counts = {"scripts": len(discovered), "voiced": len(results), "failed": len(discovered) - len(results)}
            note = "" if discovered else "no new scripts in this interval"
            return {**counts, "published": len(published), "note": note}

        @task
        def all_scripts_voiced(results: list[dict[str, Any]]) -> int:
            """Fails the run (upstream_failed) when any script failed, after summarize published the others."""
            return len(results)

        scripts = discover()
        voiced = voice_script.expand(item=scripts)
        summarize(scripts, voiced)
        all_scripts_voiced(voiced)
    return dag


dubbing = voicing_dag("dubflow_dubbing", "Dubbing: line sheets and subtitles to fitted, checked dialogue", "broadcast")
narration = voicing_dag("dubflow_narration", "Narration: manuscripts to checked chapters", "audiobook")
