"""``dubflow lexicon``: a project's pronunciation lexicon (W3C PLS or YAML), checked, stored and shown."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import ConfigOpt, console, err, fail, failing, settings_or_exit, store_or_exit
from pipeline.console import print_problems
from pipeline.ids import InvalidIdError
from pipeline.lexicon.load import FORMATS, LexiconError, build, project_lexicon, store_lexicon
from pipeline.storage.errors import StorageError

lexicon_app = typer.Typer(help="Per-project pronunciation lexicons: inbox/{project}/lexicon/.", no_args_is_help=True)
ProjectOpt = Annotated[str, typer.Option(help="The project whose lexicon it is.")]


@lexicon_app.command("check")
def lexicon_check(files: Annotated[list[Path], typer.Argument(help=f"Lexicon files: {' '.join(FORMATS)}")]) -> None:
    """Validate lexicon files; print every problem with its line, exit 1 if any."""
    try:
        lexicon = build((str(path), _read(path)) for path in files)
    except LexiconError as exc:
        print_problems(err, exc.problems)
        raise typer.Exit(1) from None
    console.print(f"{len(lexicon.entries)} entries, no problems", highlight=False)


@lexicon_app.command("put")
def lexicon_put(files: Annotated[list[Path], typer.Argument(help="Lexicon files.")], project: ProjectOpt,
                config: ConfigOpt = None) -> None:  # fmt: skip
    """Check and store lexicon files with the project (replacing a file of the same name); every later run of the
    project uses them. A file with problems is not stored."""
    from pipeline.storage.connect import connect_store

    with failing(StorageError):
        store, _ = connect_store(settings_or_exit(config))
    for path in files:
        try:
            key, count = store_lexicon(store, project, path.name, _read(path))
        except LexiconError as exc:
            print_problems(err, exc.problems)
            raise typer.Exit(1) from None
        except (StorageError, InvalidIdError) as exc:
            raise fail(exc) from exc
        console.print(f"{path} → s3://{store.bucket('inbox')}/{key} ({count} entries)", highlight=False)


@lexicon_app.command("show")
def lexicon_show(project: ProjectOpt, config: ConfigOpt = None) -> None:
    """Every entry of the project's stored lexicon, with the file and line it comes from."""
    store = store_or_exit(config)
    with failing(StorageError, InvalidIdError, LexiconError):
        lexicon = project_lexicon(store, project)
    for entry in lexicon.entries:
        scope = entry.lang or "any language"
        console.print(f"{entry.shown()}  [{scope}{', case-sensitive' if entry.match_case else ''}]  {entry.source}",
                      markup=False, highlight=False)  # fmt: skip
    console.print(f"{len(lexicon.entries)} entries", highlight=False)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise fail(f"{path}: {exc.strerror or exc}", 2) from exc
