"""``dubflow`` command line: the pipeline's stages without Airflow, for studios, notebooks and debugging."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from pipeline.console import lines_table, make_console, print_problems
from pipeline.scripts.ingest import ingest_file
from pipeline.scripts.table import write_lines
from pipeline.scripts.voice_map import VoiceMapError, load_voice_map
from pipeline.settings import load_settings

app = typer.Typer(help="dubflow: scripts in, checked voice assets out.", no_args_is_help=True, add_completion=False)
console = make_console()
err = make_console(stderr=True)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Settings YAML (default: $DUBFLOW_CONFIG or configs/pipeline.yaml).")
]


@app.command()
def ingest(
    files: Annotated[
        list[Path], typer.Argument(help="Script files: .srt .vtt .ass .ssa .csv .tsv .xlsx .json .jsonl .md .txt")
    ],
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
    settings = load_settings(config)
    if script_id and len(files) > 1:
        raise typer.BadParameter("--script-id needs exactly one file")
    try:
        mapping = load_voice_map(voice_map) if voice_map else None
    except VoiceMapError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from exc
    failed = 0
    for path in files:
        result = ingest_file(path, settings.ingest, voice_map=mapping, script_id=script_id, encoding=encoding)
        if result.lines and not quiet:
            console.print(lines_table(result))
        print_problems(err, result.problems)
        bad = bool(result.errors) or (strict and bool(result.warnings))
        if bad:
            failed += 1
            err.print(
                f"[red]✗ {escape(str(path))}: {len(result.errors)} error(s), {len(result.warnings)} warning(s)[/red]"
            )
        elif out is not None:
            written = write_lines(result, out / f"{result.script_id}.lines.parquet")
            console.print(f"[green]✓[/green] {escape(str(path))} → {escape(str(written))}")
    if failed:
        raise typer.Exit(1)


@app.command()
def text(
    source: Annotated[str, typer.Argument(help="Script text with markup, e.g. '她[h][ào]干净'.")],
    lang: Annotated[str | None, typer.Option(help="Language (default: detected).")] = None,
    style: Annotated[str | None, typer.Option(help="A style instruction to parse, e.g. '用兴奋的语气说'.")] = None,
) -> None:
    """Show how dubflow reads one line: markup structure, canonical form, spoken text, style."""
    from pipeline.text import lang as langs
    from pipeline.text.markup import MarkupError, features, parse, plain, render
    from pipeline.text.normalize import normalize
    from pipeline.text.style import parse_style

    try:
        utterance = parse(source)
    except MarkupError as exc:
        for issue in exc.issues:
            err.print(f"[red]{escape(str(issue))}[/red]")
        raise typer.Exit(1) from exc
    language = langs.normalize_tag(lang) if lang else langs.detect(source, "en")
    console.print(f"lang:      {language}", highlight=False)
    console.print(f"canonical: {escape(render(utterance))}", highlight=False)
    console.print(f"spoken:    {escape(plain(normalize(utterance, language)))}", highlight=False)
    console.print(f"features:  {', '.join(sorted(features(utterance))) or '-'}", highlight=False)
    for segment in utterance:
        console.print(f"  {escape(repr(segment))}", highlight=False)
    if style is not None:
        parsed = parse_style(style)
        console.print(escape(repr(parsed)), highlight=False)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Where the demo writes its outputs.")] = Path("build/demo"),
    samples: Annotated[Path, typer.Option(help="Sample scripts to run.")] = Path("samples"),
    config: ConfigOpt = None,
) -> None:
    """Run the pipeline end to end on the sample scripts with the embedded defaults."""
    from pipeline.demo import run_demo

    raise typer.Exit(run_demo(load_settings(config), samples, out, console))


if __name__ == "__main__":
    app()
