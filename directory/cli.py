"""The `directory` command line: serve, ingest, resolve, export, keys, demo."""

from __future__ import annotations

import atexit
import json
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, NoReturn

import click
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from directory.auth import Role, create_key
from directory.graph_access import graph_session
from directory.ingest import IngestReport, ingest_lines, record_for_bulk_load
from directory.priority import source_rank
from directory.settings import Settings, get_settings
from graph.errors import GraphConfigurationError, GraphUnavailableError
from graph.store import GraphWriter
from resolvers.batch import BatchReport, Loaded, resolve_all, without_cycle_collection
from resolvers.parallel import iter_jsonl_parallel
from resolvers.records import ParsedLine, iter_csv

err = Console(stderr=True)


class ConfigurationError(click.ClickException):
    """A setting is wrong: every problem is listed, and nothing was done."""

    exit_code = 2


class _Directory(click.Group):
    """Turns the errors a user can fix into one clear message instead of a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ValidationError as error:
            raise ConfigurationError(_settings_problems(error)) from error
        except GraphUnavailableError as error:
            raise click.ClickException(f"the graph could not be started: {error.reason}") from error
        except GraphConfigurationError as error:
            raise ConfigurationError(str(error)) from error


def _settings_problems(error: ValidationError) -> str:
    lines = [f"{len(error.errors())} setting(s) to fix:"]
    for problem in error.errors():
        name = "DIRECTORY_" + "_".join(str(part) for part in problem["loc"]).upper()
        lines.append(f"  {name}={problem.get('input')!r}: {problem['msg']}")
    return "\n".join(lines)


@dataclass
class _Process:
    ends_with_command: bool = False  # set by `run` (not by a test calling `main`)
    kept: list[object] = field(default_factory=list)

    def keep(self, working: object) -> None:
        """Keep a command's working objects to the exit when it ends the process
        (`run`): the system takes the memory back at once."""
        if self.ends_with_command:
            self.kept.append(working)


_PROCESS = _Process()


def run() -> NoReturn:
    """The `directory` command: `main`, then an exit that leaves the memory to
    the system instead of freeing each object (3.4 s after a million-record
    bulk load). Exit handlers still run; the graph is closed by then."""
    _PROCESS.ends_with_command = True
    try:
        main()
    except SystemExit as done:
        # Its traceback holds the command's frames; freed with `done` at the
        # end of this block, it took 3.4 s after a million-record bulk load.
        _PROCESS.keep(done)
        code = done.code
    else:
        code = 0
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()  # logging's flush among them
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


@click.group(cls=_Directory, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (queries at debug level).")
def main(verbose: bool) -> None:
    """Identity directory: resolve records from every channel into one identity
    graph and serve unified profiles over GraphQL.

    The graph is chosen by DIRECTORY_GRAPH_URL (falkordb://, neo4j://, bolt://);
    unset, an embedded FalkorDB keeps its data in DIRECTORY_DATA_DIR (./data).
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not verbose:
        logging.getLogger("graph").setLevel(logging.WARNING)
        # The commands print their own summary and rejections; the service logs them.
        logging.getLogger("directory.ingest").setLevel(logging.ERROR)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, help="Server processes.")
@click.option("--demo", is_flag=True, help="Load the demo population first if the graph is empty.")
@click.option("--access-log/--no-access-log", default=False, show_default=True,
              help="Log every request (costs about a tenth of the lookup throughput).")  # fmt: skip
def serve(host: str, port: int, workers: int, demo: bool, access_log: bool) -> None:
    """Serve the API (GraphiQL at /graphql) on the configured graph."""
    import uvicorn

    settings = get_settings()
    if demo:
        _load_demo(settings, only_if_empty=True)
    err.print(f"serving on http://{host}:{port}/graphql (health: /health)")
    uvicorn.run(
        "directory.app:create_app", factory=True, host=host, port=port, workers=workers,
        log_level="info", access_log=access_log,
    )  # fmt: skip


@main.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(allow_dash=True, exists=True, dir_okay=False)
)
@click.option(
    "--format", "fmt", type=click.Choice(["auto", "jsonl", "csv"]), default="auto",
    show_default=True, help="Input format; auto picks by extension (.csv) and content.",
)  # fmt: skip
@click.option(
    "--bulk", is_flag=True,
    help="A bulk load: write every record first, then resolve them all in one batch "
    "run (as `directory resolve` does, training the model if there is none). Much "
    "faster for large loads; the new records get their profiles when it ends.",
)  # fmt: skip
def ingest(files: tuple[str, ...], fmt: str, bulk: bool) -> None:
    """Ingest records (JSONL or CSV files, '-' for stdin).

    Each batch is resolved as it goes in, unless --bulk. Exits 0 when every
    record went in, 1 when any was rejected (the others still go in).
    """
    settings = get_settings()
    report = IngestReport()
    # The cycle collector off until the end: a bulk load's records stay in
    # memory for its resolution, and one pass over them between took seconds
    # (kept out of its passes to the exit when the process ends here).
    ending = without_cycle_collection(freeze_after=_PROCESS.ends_with_command)
    with graph_session(settings) as writer, ending:
        with _progress() as progress:
            for name in files:
                total = None if name == "-" else _count_records(Path(name))
                task = progress.add_task(name, total=total)
                with _open(name) as handle:
                    ingest_lines(
                        writer, _parse(handle, name, fmt, settings, bulk=bulk), settings=settings,
                        origin=name, report=report, on_batch=partial(progress.advance, task),
                        resolve_now=not bulk, keep=_PROCESS.keep,
                    )  # fmt: skip
        _print_report(report, resolved=not bulk)
        if bulk:
            _print_resolution(_resolve_with_progress(writer, settings, loaded=report.loaded))
    sys.exit(1 if report.rejected else 0)


def _progress() -> Progress:
    # Redrawn twice a second, not rich's ten times: each redraw takes the
    # interpreter from the work it shows (on a terminal, 0.21 s of CPU each
    # 10 s at ten a second, 0.06 s at two: 4 s of a million records' ingest).
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=err, transient=False, refresh_per_second=2,
    )  # fmt: skip


def _count_records(path: Path) -> int | None:
    """Non-blank lines (less the header of a CSV file), for the progress bar."""
    try:
        with path.open("rb") as handle:
            lines = sum(1 for line in handle if line.strip())
    except OSError:
        return None
    return lines - 1 if path.suffix.lower() == ".csv" and lines else lines


def _open(name: str) -> IO[str]:
    if name == "-":
        return sys.stdin
    try:
        return Path(name).open(encoding="utf-8", newline="")
    except OSError as error:
        raise click.ClickException(f"cannot read {name}: {error.strerror}") from error


def _parse(
    handle: IO[str], name: str, fmt: str, settings: Settings, *, bulk: bool
) -> Iterator[ParsedLine]:
    if fmt == "csv" or (fmt == "auto" and name.lower().endswith(".csv")):
        return iter_csv(handle, default_region=settings.default_region)
    # A bulk load has the parsing processes encode what it writes of each
    # record (wasted, and harmless, when the graph holds records already).
    prepare = record_for_bulk_load if bulk else None
    return iter_jsonl_parallel(handle, default_region=settings.default_region, prepare=prepare)


def _print_report(report: IngestReport, *, resolved: bool = True) -> None:
    """The ingest's figures; the profiles' when its batches were resolved as they went in."""
    profiles = (
        f"; profiles created {report.profiles_created}, merged {report.profiles_merged}, "
        f"split {report.profiles_split}"
    )
    err.print(
        f"read {report.read}, created {report.created}, updated {report.updated}, "
        f"rejected {len(report.rejected)}"
        + (profiles if resolved else "")
        + (f"; {report.generic_marked} values marked generic" if report.generic_marked else "")
        + (
            f"; {report.probabilistic_links} probabilistic links, "
            f"{report.review_candidates} review candidates"
            if report.probabilistic_links or report.review_candidates
            else ""
        )
    )
    for rejection in report.rejected[:50]:
        err.print(f"  [red]rejected[/red] {rejection.origin}:{rejection.line}: {rejection.reason}")
    if len(report.rejected) > 50:
        err.print(f"  … and {len(report.rejected) - 50} more")


@main.command()
@click.option("--train", is_flag=True, help="Train the match model again from the data first.")
@click.option("--force", is_flag=True, help="Resolve even when nothing changed since last time.")
def resolve(train: bool, force: bool) -> None:
    """Re-resolve every record with the match model (trained on first use).

    Keeps profile ids (a profile keeps its id while it keeps most of its records)
    and reports what changed. A no-op when no record changed since the last run.
    """
    settings = get_settings()
    with graph_session(settings) as writer:
        report = _resolve_with_progress(writer, settings, train=train, force=force)
    _print_resolution(report)


def _resolve_with_progress(
    writer: GraphWriter,
    settings: Settings,
    *,
    train: bool = False,
    force: bool = False,
    loaded: Loaded | None = None,
    ends_command: bool = True,
) -> BatchReport:
    """`ends_command`: the command exits next (`_Process.keep`): not `serve`'s demo."""
    keep = _PROCESS.keep if ends_command else None
    with _progress() as progress:
        tasks: dict[str, TaskID] = {}

        def advance(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(_PHASES.get(phase, phase), total=total)
            progress.update(tasks[phase], completed=done, total=total)

        return resolve_all(
            writer, thresholds=settings.thresholds, source_rank=source_rank(writer, settings),
            retrain=train, force=force, progress=advance, loaded=loaded, keep=keep,
        )  # fmt: skip


def _print_resolution(report: BatchReport) -> None:
    if report.skipped:
        err.print("nothing to resolve: no record changed since the last resolution")
        return
    if report.records < 2:
        err.print(f"nothing to resolve: the graph holds {report.records} record(s)")
        return
    err.print(
        f"resolved {report.records} records with model {report.model_version}"
        f"{' (trained now)' if report.trained else ''}: {report.candidate_pairs} candidate "
        f"pairs ({report.pairs_compared} in reach of review), {report.links} probabilistic "
        f"links, {report.review} review candidates "
        f"({report.refused} refused for conflicts); profiles {report.profiles_before} → "
        f"{report.profiles_after}: merged {report.profiles_merged}, split "
        f"{report.profiles_split}, unchanged {report.profiles_unchanged}; seconds: "
        + ", ".join(f"{phase} {seconds:.1f}" for phase, seconds in report.seconds.items())
    )


_PHASES = {
    "read": "reading records",
    "block": "finding candidate pairs",
    "train": "finding candidate pairs, training the model",
    "bound": "bounding pairs' weights",
    "score": "comparing pairs in reach",
    "write": "writing profiles",
}


@main.group()
def export() -> None:
    """Export data from the graph."""


@export.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="File to write (default: stdout).")  # fmt: skip
def assignments(output: str) -> None:
    """One JSON line per record: {"source", "source_id", "profile_id"}."""
    settings = get_settings()
    stream = click.open_file(output, "w", encoding="utf-8")
    count = 0
    with graph_session(settings) as writer, stream:
        for row in _all_assignments(writer):
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    err.print(f"exported {count} record assignments")


@export.command("schema")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="File to write (default: stdout).")  # fmt: skip
def export_schema(output: str) -> None:
    """The GraphQL SDL of the API (committed as schema.graphql)."""
    from directory.graphql_api import schema

    with click.open_file(output, "w", encoding="utf-8") as stream:
        stream.write(schema.as_str() + "\n")


def _all_assignments(writer: GraphWriter, page: int = 20_000) -> Iterator[dict[str, str]]:
    after = ""
    while rows := writer.record_assignments(after, page):
        for row in rows:
            yield {"source": row["source"], "source_id": row["source_id"],
                   "profile_id": row["profile_id"]}  # fmt: skip
        after = rows[-1]["key"]


@main.group()
def keys() -> None:
    """Manage API keys."""


@keys.command("create")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True,
              help="agent: read; steward: read, merge, split; admin: everything.")  # fmt: skip
@click.option("--name", default="", help="Who or what the key is for.")
def keys_create(role: str, name: str) -> None:
    """Create a key and print it alone on stdout (it is stored hashed)."""
    with graph_session(get_settings()) as writer:
        click.echo(create_key(writer, role=Role(role), name=name))


@main.command()
@click.option("--seed", default=7, show_default=True, help="Random seed of the population.")
@click.option("--customers", default=3000, show_default=True)
@click.option("--employees", default=300, show_default=True)
def demo(seed: int, customers: int, employees: int) -> None:
    """Load the synthetic demo population and print an admin key to try it."""
    _load_demo(get_settings(), only_if_empty=False, seed=seed, customers=customers,
               employees=employees)  # fmt: skip


def _load_demo(
    settings: Settings, *, only_if_empty: bool, seed: int = 7, customers: int = 3000,
    employees: int = 300,
) -> None:  # fmt: skip
    from directory.demo_data import generate
    from resolvers.records import iter_json_array_items

    with graph_session(settings) as writer:
        if only_if_empty and writer.count_of("Record") > 0:
            err.print("the graph already holds records; not loading the demo again")
        else:
            records = generate(seed=seed, customers=customers, employees=employees)
            with _progress() as progress:
                task = progress.add_task("demo records", total=len(records))
                report = ingest_lines(  # a bulk load: resolved once, below
                    writer, iter_json_array_items(records), settings=settings, origin="demo",
                    on_batch=lambda n: progress.advance(task, n), resolve_now=False,
                )  # fmt: skip
            _print_report(report, resolved=False)
            err.print("resolving the demo with the match model (`directory resolve`) ...")
            resolved = _resolve_with_progress(
                writer, settings, loaded=report.loaded, ends_command=False
            )
            _print_resolution(resolved)
        key = create_key(writer, role=Role.ADMIN, name="demo")
    err.print(
        f"\n[bold]Demo API key[/bold] (admin; send it as 'Authorization: Bearer <key>'):\n  {key}\n"
    )
