"""``python -m bot``: run the service, check the configuration, query and score mentions."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from bot.config import (
    AppConfig,
    ConfigError,
    ReplaySourceSettings,
    default_config_path,
    load_config,
)
from bot.config.loader import load_yaml
from bot.config.schema import slugify
from bot.durations import parse_since

if TYPE_CHECKING:
    import sqlite_utils

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
logger = logging.getLogger("bot")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stdout = Console(soft_wrap=True)
    stderr = Console(stderr=True, soft_wrap=True)
    try:
        return int(args.command(args, stdout, stderr))
    except ConfigError as error:
        stderr.print(f"[bold red]configuration error[/] {escape(str(error))}", highlight=False)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `python -m bot mentions --json | head`: the reader has enough
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the exit's final flush does not fail too
        return 0


def _input_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    return path


def _output_file(text: str) -> Path:
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a folder; name the file to write")
    if not path.resolve().parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: no folder {path.parent}")
    return path


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return seconds


def _language_codes(text: str) -> tuple[str, ...]:
    """'en,fr' as ('en', 'fr'): two-letter ISO 639-1 codes."""
    codes = tuple(code.strip().lower() for code in text.split(",") if code.strip())
    wrong = [code for code in codes if not (len(code) == 2 and code.isalpha())]
    if wrong or not codes:
        raise argparse.ArgumentTypeError(
            f"{', '.join(wrong) or repr(text)}: give ISO 639-1 codes such as en,fr"
        )
    return codes


def _incident_number(text: str) -> int:
    """'12' or '#12'."""
    try:
        return int(text.strip().lstrip("#"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an incident number (12 or #12)"
        ) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, handler: object, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument(
            "-c", "--config", help="app.yaml to use (default: $VIGIE_CONFIG, app.yaml)"
        )
        sub.set_defaults(command=handler)
        return sub

    run = command("run", _run, "Listen, score, store and alert until stopped (Ctrl-C).")
    run.add_argument(
        "--exit-when-idle",
        action="store_true",
        help="Exit once every replay source is consumed and stored.",
    )
    run.add_argument("-v", "--verbose", action="store_true", help="Debug logging.")

    command("check-config", _check_config, "Validate the configuration and say what it sets up.")

    incidents = command("incidents", _incidents, "List incidents: level history, peak risk.")
    incidents.add_argument("--status", choices=("open", "all"), default="open")
    incidents.add_argument("--json", action="store_true", help="JSON lines, one incident each.")
    incident = command("incident", _incident, "One incident's timeline, audit and notifications.")
    incident.add_argument("id", type=_incident_number, help="Incident number.")
    incident.add_argument("--json", action="store_true", help="As one JSON document.")

    audit = command("audit", _audit, "The decision log of reply drafts: who, when, what text.")
    audit.add_argument("--incident", type=_incident_number, help="Only this incident.")
    audit.add_argument("--json", action="store_true", help="JSON lines, one decision each.")

    mentions = command("mentions", _mentions, "List stored mentions, newest first.")
    mentions.add_argument("--brand", help="Brand name or slug.")
    mentions.add_argument("--since", help="Only mentions posted since: 30m, 24h, 7d or a time.")
    mentions.add_argument("--negative", action="store_true", help="Only negative mentions.")
    mentions.add_argument("--limit", type=int, help="At most this many.")
    mentions.add_argument("--json", action="store_true", help="JSON lines, one mention each.")

    score = command("score", _score, "Score a CSV file: adds lang, negativity and sentiment.")
    score.add_argument("input", type=_input_file, help="CSV file with a header row.")
    score.add_argument("--text-column", required=True, help="Column holding the text.")
    score.add_argument(
        "--output", required=True, type=_output_file, help="CSV file to write (may be INPUT)."
    )
    score.add_argument(
        "--languages",
        default="en,fr",
        type=_language_codes,
        help="Expected languages, preferred when close (default: en,fr).",
    )

    reach = command(
        "predict-reach",
        _predict_reach,
        "Predict each cascade's final number of reshares from its early ones.",
    )
    reach.add_argument(
        "input",
        type=_input_file,
        help="CSV or CSV.GZ: cascade_id, relative_time_seconds, number_of_followers.",
    )
    reach.add_argument(
        "--observe",
        type=_positive_seconds,
        required=True,
        help="Use only the reshares of the first SECONDS.",
    )
    reach.add_argument(
        "--output",
        type=_output_file,
        required=True,
        help="CSV to write: cascade_id, observed, predicted_final.",
    )
    reach.add_argument(
        "--model",
        choices=("calibrated", "seismic"),
        default="calibrated",
        help=(
            "calibrated (default): fitted on Twitter cascades that ended above 2,000 reshares, "
            "so it never predicts fewer; seismic: the SEISMIC estimate itself, for posts of any "
            "size (less accurate on large cascades)."
        ),
    )

    bursts = command(
        "detect-bursts", _detect_bursts, "Flag the bins of a volume series that burst, online."
    )
    bursts.add_argument(
        "input", type=_input_file, help="CSV: timestamp,value (one row per time bin)."
    )
    bursts.add_argument(
        "--output",
        type=_output_file,
        required=True,
        help="CSV to write: timestamp,value,surprise,burst.",
    )
    return parser


def _config(args: argparse.Namespace) -> AppConfig:
    return load_config(default_config_path(args.config))


def _setup_logging(level: str, console: Console) -> None:
    """Coloured logs on a terminal; one plain line per record anywhere else (services, CI)."""
    handler: logging.Handler
    if console.is_terminal:
        handler = RichHandler(console=console, show_path=False, rich_tracebacks=False)
        handler.setFormatter(logging.Formatter("%(message)s", datefmt="%H:%M:%S"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def _run(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from bot.app import ServiceError, build, install_signal_handlers, serve
    from storage.database import StorageError

    config = _config(args)
    _setup_logging("DEBUG" if args.verbose else config.logging.level, stderr)

    async def go() -> bool:
        stop = asyncio.Event()
        install_signal_handlers(stop)
        service = build(config, stdout)
        return await serve(service, exit_when_idle=args.exit_when_idle, stop=stop)

    try:
        ok = asyncio.run(go())
    except (ServiceError, StorageError) as error:
        logger.error("%s", error)
        return EXIT_FAILED
    return EXIT_OK if ok else EXIT_FAILED


def _check_config(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    path = default_config_path(args.config)
    config = load_config(path)
    problems = _replay_problems(config, path)
    stdout.print(
        f"{'[red]not ok[/]' if problems else '[green]ok[/]'} {path}: {len(config.brands)} "
        f"brand(s), {len(config.sources)} source(s), storage {config.storage.path}"
    )
    for brand in config.brands:
        terms = 1 + len(brand.keywords) + len(brand.aliases) + len(brand.hashtags)
        terms += len(brand.handles)
        stdout.print(
            f"  brand {brand.name} ({brand.brand_slug}): {terms} terms, "
            f"{len(brand.exclude)} exclusions, languages {','.join(brand.languages)}"
        )
    for source in config.sources:
        stdout.print(f"  source {source.name}: {source.type}")
    for level in config.incidents.levels:
        kinds = ", ".join(
            next(kind for kind in ("notify", "wait", "escalate") if hasattr(step, kind))
            for step in level.steps
        )
        stdout.print(f"  level {level.name}: from risk {level.min_risk}; steps: {kinds or 'none'}")
    for problem in problems:
        stderr.print(f"[bold red]configuration error[/] {escape(problem)}", highlight=False)
    return EXIT_CONFIG if problems else EXIT_OK


def _replay_problems(config: AppConfig, path: Path) -> list[str]:
    """What would fail each replay source at its start (its file is missing or unreadable, or
    lacks a column its records are read from), naming the line of the setting to fix."""
    lines = load_yaml(path.read_text(encoding="utf-8"), str(path))  # loaded once already: valid
    problems = []
    for index, source in enumerate(config.sources):
        if isinstance(source, ReplaySourceSettings):
            problem = _replay_problem(source, path.parent)
            if problem is not None:
                part, why = problem
                line = lines.line_of(("sources", index, *part.split(".")))
                problems.append(f"{path}: line {line}: sources.{source.name}.{part}: {why}")
    return problems


def _replay_problem(source: ReplaySourceSettings, folder: Path) -> tuple[str, str] | None:
    """(the setting at fault, why), or None when the file can be replayed."""
    from bot.sources.replay import ReplayFileError, describe_missing, missing_columns

    if not source.path.is_file():
        return "path", f"no file {source.path} (a relative path starts at {folder})"
    try:
        missing, found = missing_columns(source)
    except ReplayFileError as error:
        return error.setting, str(error)
    if not missing:
        return None
    field = next(iter(missing))
    part = f"columns.{field}" if field in source.columns else "path"
    return part, describe_missing(source, missing, found)


def _mentions(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    config = _config(args)
    try:
        since = parse_since(args.since, datetime.now(UTC)) if args.since else None
    except ValueError as error:
        stderr.print(f"[red]--since[/]: {escape(str(error))}")
        return EXIT_CONFIG
    if args.limit is not None and args.limit < 1:
        stderr.print("[red]--limit[/] must be at least 1")
        return EXIT_CONFIG
    brand = _brand_slug(config, args.brand) if args.brand else None
    if brand is None and args.brand:
        known = ", ".join(f"{b.name} ({b.brand_slug})" for b in config.brands)
        stderr.print(f"[red]--brand[/]: no brand {args.brand!r} in the configuration; {known}")
        return EXIT_CONFIG

    def show() -> int:
        from storage.mentions import find_mentions

        db = _open_for_reading(config.storage.path)
        with db.conn:
            rows = find_mentions(
                db,
                brand=brand,
                since=since,
                negative=args.negative,
                limit=args.limit,
                own=_own_accounts(config),
            )
        db.close()
        if args.json:
            for row in rows:
                sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
            return EXIT_OK
        shown = {name for row in rows for name in row["brands"]}
        stdout.print(_mention_table(rows, show_brands=brand is None and len(shown) > 1))
        return EXIT_OK

    return _read_command(config.storage.path, stderr, show)


def _incidents(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from bot.incident_commands import list_command

    config = _config(args)
    return _read_command(
        config.storage.path, stderr, lambda: list_command(config, args, stdout, stderr)
    )


def _incident(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from bot.incident_commands import show_command

    config = _config(args)
    return _read_command(
        config.storage.path, stderr, lambda: show_command(config, args, stdout, stderr)
    )


def _audit(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from bot.audit_command import audit_command

    config = _config(args)
    return _read_command(
        config.storage.path, stderr, lambda: audit_command(config, args, stdout, stderr)
    )


class _Unreadable(Exception):
    """The database cannot be read (none yet, not Vigie's, damaged); the message says which."""


def _read_command(database: Path, stderr: Console, command: Callable[[], int]) -> int:
    """Run a command that reads the database once it is known to be Vigie's: otherwise one
    line and exit 1, never a traceback or an empty table."""
    try:
        _open_for_reading(database).close()
        return command()
    except _Unreadable as error:
        problem = str(error)
    except sqlite3.DatabaseError as error:  # found wanting half-way: damaged, locked, too old
        problem = _database_trouble(database, error)
    stderr.print(f"[red]{escape(problem)}[/]", highlight=False)
    return EXIT_FAILED


def _open_for_reading(database: Path) -> sqlite_utils.Database:
    """The database, read-only, once it is known to be one Vigie wrote."""
    from storage.database import StorageError, open_database
    from storage.migrations import current_version

    try:
        db = open_database(database, read_only=True)
    except StorageError as error:
        raise _Unreadable(str(error)) from None
    try:
        version = current_version(db)
    except sqlite3.DatabaseError as error:
        db.close()
        raise _Unreadable(_database_trouble(database, error)) from None
    if version == 0:  # SQLite takes an empty file, or another program's database, as its own
        db.close()
        what = "the file is empty" if database.stat().st_size == 0 else "it has no Vigie tables"
        raise _Unreadable(f"{database} is not a Vigie database: {what}")
    return db


def _database_trouble(database: Path, error: sqlite3.DatabaseError) -> str:
    if getattr(error, "sqlite_errorname", "") == "SQLITE_NOTADB":
        return f"{database} is not a Vigie database: {error}"
    return f"{database}: cannot read the database: {error}"


def _own_accounts(config: AppConfig) -> dict[str, frozenset[str]]:
    from bot.accounts import own_accounts

    return {brand.brand_slug: own_accounts(brand.handles) for brand in config.brands}


def _brand_slug(config: AppConfig, wanted: str) -> str | None:
    """The slug of the configured brand named or slugged ``wanted``; None if there is none."""
    for brand in config.brands:
        if slugify(wanted) == brand.brand_slug or wanted.casefold() == brand.name.casefold():
            return brand.brand_slug
    return None


def _mention_table(rows: list[dict[str, Any]], show_brands: bool = True) -> Table:
    """Stored mentions as a table that leaves the text room on an 80-column terminal: the label,
    score and language in one column, the author in front of the text, the date over the time,
    brands only when the rows are of several."""
    table = Table(title=f"{len(rows)} mention(s), times in UTC", show_lines=False)
    table.add_column("posted", max_width=10)  # 2026-03-10 over 08:00
    if show_brands:
        table.add_column("brands", no_wrap=True, max_width=12, overflow="ellipsis")
    table.add_column("reading", no_wrap=True)
    table.add_column("author: text", ratio=1, overflow="fold")
    for row in rows:
        brands = [",".join(row["brands"])] if show_brands else []
        author = f"@{row['author_handle']}: " if row["author_handle"] else ""
        table.add_row(
            str(row["created_at"])[:16].replace("T", " "),
            *brands,
            f"{str(row['sentiment'])[:3].upper()} {row['negativity']:.2f} {row['language']}",
            Text.assemble((author, "yellow"), str(row["text"])[:160]),  # Text: never markup
        )
    return table


def _file_command(
    work: Callable[[], int],
    what: str,
    output: Path,
    stderr: Console,
    wrong_arguments: tuple[type[Exception], ...] = (),
) -> int:
    """Run a file-to-file command: one line saying what was written, or why nothing was."""
    try:
        count = work()
    except wrong_arguments as error:  # the file is fine, the command names what it lacks
        stderr.print(f"[red]{escape(str(error))}[/]", highlight=False)
        return EXIT_CONFIG
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        stderr.print(f"[red]{escape(where + (error.strerror or str(error)))}[/]", highlight=False)
        return EXIT_FAILED
    except ValueError as error:  # ScoreFileError is a ValueError
        stderr.print(f"[red]{escape(str(error))}[/]", highlight=False)
        return EXIT_FAILED
    stderr.print(f"{what.format(count=count)} into {output}")
    return EXIT_OK


def _predict_reach(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from bot.output_file import replacing
    from bot.spread.reach import DEFAULT_CALIBRATION
    from bot.spread.reach_file import predict_reach_file

    def work() -> int:
        with replacing(args.output) as scratch:
            calibration = DEFAULT_CALIBRATION if args.model == "calibrated" else None
            return predict_reach_file(args.input, scratch, args.observe, calibration)

    return _file_command(work, "predicted {count} cascades", args.output, stderr)


def _detect_bursts(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from bot.output_file import replacing
    from bot.spread.burst_file import detect_bursts_file

    def work() -> int:
        with replacing(args.output) as scratch:
            return detect_bursts_file(args.input, scratch)

    return _file_command(work, "scored {count} bins", args.output, stderr)


def _score(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from bot.scorefile import ScoreArgumentError, score_file

    def work() -> int:
        return score_file(args.input, args.output, args.text_column, args.languages, stderr)

    return _file_command(work, "scored {count} rows", args.output, stderr, (ScoreArgumentError,))
