"""``dubflow`` command line: the pipeline's stages without Airflow, for studios, notebooks and debugging."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from pipeline.cli import enroll
from pipeline.cli.common import ConfigOpt, console, err, fail, failing
from pipeline.cli.common import language as _language
from pipeline.cli.common import settings_or_exit as _settings
from pipeline.cli.lexicon import lexicon_app
from pipeline.cli.storage import catalog_app, inbox_app, s3_app
from pipeline.console import lines_table, print_problems, rows_table
from pipeline.scripts.formats import FORMATS
from pipeline.scripts.ingest import ingest_file
from pipeline.scripts.table import write_lines
from pipeline.scripts.voice_map import VoiceMapError, load_voice_map
from pipeline.text import lang as langs

DEMO_PROJECT = "demo"
app = typer.Typer(help="dubflow: scripts in, checked voice assets out.", no_args_is_help=True, add_completion=False)
app.add_typer(s3_app, name="s3")
app.add_typer(inbox_app, name="inbox")
app.add_typer(catalog_app, name="catalog")
app.add_typer(lexicon_app, name="lexicon")


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help=f"Script files: {' '.join(FORMATS)}")],
    out: Annotated[
        Path | None,
        typer.Option(help="Directory for <script_id>.lines.parquet (written only when a file has no errors)."),
    ] = None,
    voice_map: Annotated[
        Path | None, typer.Option(help="YAML speaker: voice map; unmapped speakers become errors.")
    ] = None,
    script_id: Annotated[
        str | None, typer.Option(help="Script id (default: from the file name). One file only.")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="Force a text encoding instead of detecting it.")] = None,
    strict: Annotated[bool, typer.Option(help="Treat warnings as errors.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print problems only, not the lines tables.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Parse and validate scripts; print their lines (or every problem) and exit 1 if any file has errors."""
    settings = _settings(config)
    if script_id and len(files) > 1:
        raise typer.BadParameter("--script-id needs exactly one file")
    try:
        mapping = load_voice_map(voice_map) if voice_map else None
    except VoiceMapError as exc:
        raise fail(exc) from exc
    failed = 0
    for path in files:
        result = ingest_file(path, settings.ingest, voice_map=mapping, script_id=script_id, encoding=encoding)
        if result.lines and not quiet:
            console.print(lines_table(result))
        print_problems(err, result.problems)
        counts = f"{len(result.errors)} error(s), {len(result.warnings)} warning(s)"
        where = ", ".join(filter(None, (result.format, result.encoding)))
        if result.errors or (strict and result.warnings):
            failed += 1
            err.print(f"[red]✗ {escape(str(path))}: {counts} ({where})[/red]")
            continue
        done = f"{len(result.lines)} lines ({where}), {len(result.warnings)} warning(s)"
        if out is not None:
            written = write_lines(result, out / f"{result.script_id}.lines.parquet")
            done += f" → {escape(str(written))}"
        console.print(f"[green]✓[/green] {escape(str(path))}: {done}")
    if len(files) > 1:
        console.print(f"{len(files)} files: {len(files) - failed} ok, {failed} with errors")
    if failed:
        raise typer.Exit(1)


@app.command()
def text(
    source: Annotated[str, typer.Argument(help="Script text with markup, e.g. '她[h][ào]干净'.")],
    lang: Annotated[str | None, typer.Option(help="Language (default: detected).")] = None,
    style: Annotated[str | None, typer.Option(help="A style instruction to parse, e.g. '用兴奋的语气说'.")] = None,
    project: Annotated[str | None, typer.Option(help="Apply this project's stored pronunciation lexicon.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Show how dubflow reads one line: markup structure, canonical form, spoken text, style (and, with --project,
    which entries of the project's lexicon it uses)."""
    from pipeline.text.markup import MarkupError, features, parse, plain, render
    from pipeline.text.normalize import normalize
    from pipeline.text.style import parse_style

    try:
        utterance = parse(source)
    except MarkupError as exc:
        raise fail("\n".join(map(str, exc.issues))) from exc
    language = _language(lang) if lang else langs.detect(source, _settings(config).ingest.default_lang)
    used: tuple = ()
    if project is not None:
        from pipeline.cli.common import store_or_exit
        from pipeline.ids import InvalidIdError
        from pipeline.lexicon.load import LexiconError, project_lexicon
        from pipeline.storage.errors import StorageError

        with failing(StorageError, InvalidIdError, LexiconError):
            utterance, used = project_lexicon(store_or_exit(config), project).apply(utterance, language)
    spoken = plain(normalize(utterance, language))
    shown = [f"lang:      {language}", f"canonical: {render(utterance)}", f"spoken:    {spoken}"]
    if project is not None:
        shown.append(f"lexicon:   {'; '.join(e.shown() + ' (' + e.source + ')' for e in used) or '-'}")
    shown += [f"features:  {', '.join(sorted(features(utterance))) or '-'}", *(f"  {s!r}" for s in utterance)]
    shown += [] if style is None else [repr(parse_style(style))]
    console.print("\n".join(shown), markup=False, highlight=False)


voices_app = typer.Typer(help="The voice catalog: list, check, preview, enroll.", no_args_is_help=True)
app.add_typer(voices_app, name="voices")
voices_app.command("enroll")(enroll.voices_enroll)
voices_app.command("enrolled")(enroll.voices_enrolled)
voices_app.command("transcript")(enroll.voices_transcript)


def _catalog(config: Path | None):
    from pipeline.voices.catalog import load_catalog

    settings = _settings(config)
    return settings, load_catalog(settings.voices_file)


@voices_app.command("list")
def voices_list(config: ConfigOpt = None) -> None:
    """Every voice in the catalog with its engine and languages."""
    _, catalog = _catalog(config)
    voices = catalog.voices.values()
    columns = ("voice", "engine", "languages", "engine voice", "reference", "description")
    rows = [(v.id, v.engine, ", ".join(v.languages), v.engine_voice, v.reference, v.description) for v in voices]
    console.print(rows_table(str(catalog.path), columns, rows))
    print_problems(err, catalog.problems)
    if any(p.severity == "error" for p in catalog.problems):
        raise typer.Exit(1)


@voices_app.command("check")
def voices_check(
    load: Annotated[bool, typer.Option(help="Also load each voice's engine.")] = True, config: ConfigOpt = None
) -> None:
    """Validate the catalog (reference clips, transcripts, project maps) and that each voice's engine loads."""
    from pipeline.engines.base import EngineError
    from pipeline.engines.registry import EngineRegistry

    settings, catalog = _catalog(config)
    print_problems(err, catalog.problems)
    failed = any(p.severity == "error" for p in catalog.problems)
    if load and catalog.voices:
        registry = EngineRegistry(settings.engines)
        for voice in catalog.voices.values():
            try:
                engine = registry.get(voice.engine)
                loaded = f"{engine.model_version} (loaded in {engine.load_seconds:.2f}s)"
                console.print(f"[green]✓[/green] {voice.id}: {loaded}")
            except EngineError as exc:
                failed = True
                err.print(f"✗ {voice.id}: {exc}", style="red", markup=False)
    if failed:
        raise typer.Exit(1)
    console.print(f"{len(catalog.voices)} voices OK")


@voices_app.command("preview")
def voices_preview(
    voice: Annotated[str, typer.Argument(help="Voice id from the catalog.")],
    text: Annotated[str, typer.Argument(help="What to say (markup allowed).")],
    out: Annotated[Path | None, typer.Option(help="WAV file to write (default: build/preview/<voice>.wav).")] = None,
    lang: Annotated[str | None, typer.Option(help="Language (default: detected from the text).")] = None,
    style: Annotated[str | None, typer.Option(help="Style instruction.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for reproducible output.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Speak a line with one voice and write a WAV: audition a catalog voice before casting it."""
    import soundfile as sf

    from pipeline.engines.base import EngineError
    from pipeline.engines.registry import EngineRegistry
    from pipeline.voices.audition import AuditionError, audition
    from pipeline.voices.catalog import CLONING_ENGINES

    settings, catalog = _catalog(config)
    store = None
    if voice in catalog.voices and catalog.voices[voice].engine in CLONING_ENGINES:  # clones from its enrolled clip
        from pipeline.cli.common import store_or_exit
        from pipeline.enrollment.record import with_enrollments

        store = store_or_exit(config)
        catalog = with_enrollments(catalog, store)
    try:
        result = audition(EngineRegistry(settings.engines), catalog, voice, text, lang, style, seed, store)
    except AuditionError as exc:
        raise fail(exc) from exc
    except EngineError as exc:
        raise fail(f"{voice}: {exc}") from exc
    path = out or Path("build/preview") / f"{voice}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, result.samples, result.sample_rate, subtype="PCM_16")
    for warning in result.warnings:
        err.print(f"warning: {warning}", style="yellow", markup=False)
    spoken = f"{result.duration:.2f}s at {result.sample_rate} Hz by {result.model_version} (RTF {result.rtf:.3f})"
    console.print(f"{path}: {spoken}", highlight=False)


@app.command()
def voice(
    scripts: Annotated[list[Path], typer.Argument(help="Script files to voice.", exists=True, dir_okay=False)],
    project: Annotated[
        str | None, typer.Option(help="Project whose voice map applies (default: settings.project)")
    ] = None,
    profile: Annotated[str | None, typer.Option(help="Delivery profile (default: audio.profile).")] = None,
    publish: Annotated[bool, typer.Option("--publish/--no-publish", help="Publish each script's version.")] = True,
    out: Annotated[
        Path | None, typer.Option(help="Keep <out>/lines/*.parquet and <out>/delivery/<script_id>/.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Synthesize and check every line again, ignoring the caches.")] = False,
    workers: Annotated[int | None, typer.Option(help="Local Dask workers (default: dask.workers or cores).")] = None,
    mode: Annotated[str | None, typer.Option(help="Cluster: auto | cuda | local | external.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Voice scripts end to end: ingest, synthesize on Dask, post-process and QA, package, publish."""
    from pipeline.cli.voice import Batch

    settings = _settings(config)
    if overrides := {k: v for k, v in {"workers": workers, "mode": mode}.items() if v is not None}:
        try:
            dask = settings.dask.model_validate({**settings.dask.model_dump(), **overrides})
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        settings = settings.model_copy(update={"dask": dask})
    raise typer.Exit(Batch(settings, project or settings.project, profile, publish, out, force).run(scripts))


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Where the demo writes its outputs.")] = Path("build/demo"),
    samples: Annotated[Path, typer.Option(help="Sample scripts to run.")] = Path("samples"),
    config: ConfigOpt = None,
) -> None:
    """``dubflow voice samples/* --project demo --out build/demo``, with the samples' lexicon (samples/lexicon/)
    stored with the project first: the embedded defaults, end to end."""
    from pipeline.cli.voice import Batch
    from pipeline.scripts.ingest import supported_suffixes

    files = sorted(p for p in samples.iterdir() if p.suffix.lower() in supported_suffixes())
    if not files:
        raise fail(f"no sample scripts in {samples}")
    raise typer.Exit(Batch(_settings(config), DEMO_PROJECT, out=out, samples=samples).run(files))


def main() -> None:
    """The ``dubflow`` console script: a command that fails on a bad id, an unreachable object store or a cluster
    that cannot start ends with one line saying so (exit 2), never with a traceback."""
    from pipeline.compute.cluster import ClusterError
    from pipeline.ids import InvalidIdError
    from pipeline.storage.errors import StorageError

    try:
        app()
    except (InvalidIdError, StorageError, ClusterError) as exc:
        err.print(f"{type(exc).__name__}: {exc}", style="red", markup=False, soft_wrap=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
