"""``python -m bot``: run the service, check the configuration, query and score mentions."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from bot import config_check, file_commands, mentions_command, read_commands, run_command
from bot.command_words import incident_number
from bot.config import ConfigError
from bot.ids import parse_id
from bot.output_file import STDOUT

EXIT_CONFIG = 2
MAX_LIMIT = 1_000_000


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


STDIN = Path("/dev/stdin")


def _input_file(text: str) -> Path:
    """A file to read once, front to back: a regular file, or a pipe (``<(zcat f.csv.gz)``,
    ``/dev/stdin``, ``-`` for standard input), as every file command reads its input once
    without seeking."""
    if text == "-":
        if not STDIN.exists():
            raise argparse.ArgumentTypeError("-: standard input is closed")
        return STDIN
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a folder; name the file to read")
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    return path


def _output_file(text: str) -> Path:
    """A file to write (``-``: standard output, :data:`bot.output_file.STDOUT`)."""
    if text == "-":
        return STDOUT
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


def _minimum_final_size(text: str) -> float:
    """``--min-final``: a size every cascade is known to reach, 0 when nothing is known."""
    try:
        size = float(text)
    except ValueError:
        size = math.nan
    if not (math.isfinite(size) and size >= 0):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size: give a number of reshares >= 0 (0 for posts of any size)"
        )
    return size


def _bin_width(text: str) -> timedelta:
    """``--bin``: a positive duration such as 5m or 1h."""
    from bot.durations import parse_duration

    try:
        width = parse_duration(text)
    except ValueError:
        width = timedelta(0)
    if width < timedelta(microseconds=1):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a bin width: give a positive duration such as 5m, 1h or 30s"
        )
    return width


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
    """'12' or '#12', as the chat command reads it (ASCII digits, within what storage holds)."""
    number = incident_number(text.strip())
    if number is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not an incident number (12 or #12)")
    return number


def _limit(text: str) -> int:
    """How many rows at most: 1 to MAX_LIMIT (omit ``--limit`` for all of them)."""
    number = parse_id(text)
    if number is None or number > MAX_LIMIT:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give a number from 1 to {MAX_LIMIT:,}, or leave --limit out for all"
        )
    return number


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

    run = command("run", run_command.run, "Listen, score, store and alert until stopped (Ctrl-C).")
    run.add_argument(
        "--exit-when-idle",
        action="store_true",
        help="Exit once every replay source is consumed and stored.",
    )
    run.add_argument("-v", "--verbose", action="store_true", help="Debug logging.")

    command(
        "check-config",
        config_check.check_config,
        "Validate the configuration and say what it sets up.",
    )

    incidents = command(
        "incidents", read_commands.incidents, "List incidents: level history, peak risk."
    )
    incidents.add_argument("--status", choices=("open", "all"), default="open")
    incidents.add_argument("--json", action="store_true", help="JSON lines, one incident each.")
    incident = command(
        "incident", read_commands.incident, "One incident's timeline, audit and notifications."
    )
    incident.add_argument("id", type=_incident_number, help="Incident number.")
    incident.add_argument("--json", action="store_true", help="As one JSON document.")

    audit = command(
        "audit", read_commands.audit, "The decision log of reply drafts: who, when, what text."
    )
    audit.add_argument("--incident", type=_incident_number, help="Only this incident.")
    audit.add_argument("--json", action="store_true", help="JSON lines, one decision each.")

    mentions = command("mentions", mentions_command.mentions, "List stored mentions, newest first.")
    mentions.add_argument("--brand", help="Brand name or slug.")
    mentions.add_argument("--since", help="Only mentions posted since: 30m, 24h, 7d or a time.")
    mentions.add_argument("--negative", action="store_true", help="Only negative mentions.")
    mentions.add_argument("--limit", type=_limit, help="At most this many.")
    mentions.add_argument("--json", action="store_true", help="JSON lines, one mention each.")

    score = command(
        "score", file_commands.score, "Score a CSV file: adds lang, negativity and sentiment."
    )
    score.add_argument(
        "input", type=_input_file, help="CSV file with a header row ('-': standard input)."
    )
    score.add_argument("--text-column", required=True, help="Column holding the text.")
    score.add_argument(
        "--output",
        required=True,
        type=_output_file,
        help="CSV file to write (may be INPUT; '-': standard output).",
    )
    score.add_argument(
        "--languages",
        default="en,fr",
        type=_language_codes,
        help="Expected languages, preferred when close (default: en,fr).",
    )

    reach = command(
        "predict-reach",
        file_commands.predict_reach,
        "Predict each cascade's final number of reshares from its early ones.",
    )
    reach.add_argument(
        "input",
        type=_input_file,
        help=(
            "CSV or CSV.GZ: cascade_id, relative_time_seconds, number_of_followers "
            "('-': standard input)."
        ),
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
        help=(
            "CSV to write: cascade_id, observed, predicted_final, branching, explosive "
            "('-': standard output)."
        ),
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
    reach.add_argument(
        "--min-final",
        type=_minimum_final_size,
        metavar="N",
        help=(
            "With --model calibrated: the size every cascade is known to reach, so no prediction "
            "is below it. Default: the calibration's own floor, 2,000 (its training cascades were "
            "selected that way). Give 0 for posts of any size (a ranking more than a forecast)."
        ),
    )

    bursts = command(
        "detect-bursts",
        file_commands.detect_bursts,
        "Flag the bins of a volume series that burst, online.",
    )
    bursts.add_argument(
        "input",
        type=_input_file,
        help="CSV: timestamp,value (one row per time bin; '-': standard input).",
    )
    bursts.add_argument(
        "--output",
        type=_output_file,
        required=True,
        help="CSV to write: timestamp,value,surprise,burst ('-': standard output).",
    )
    bursts.add_argument(
        "--bin",
        type=_bin_width,
        metavar="DURATION",
        help=(
            "Bin width (5m, 1h). Default: the greatest common divisor of the gaps between "
            "timestamps, said on stderr; give it when the file's layout may mislead."
        ),
    )
    return parser
