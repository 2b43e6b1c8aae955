"""The file-to-file commands (score, predict-reach, detect-bursts): each writes its output
atomically and ends with one line saying what was written, or why nothing was."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from bot.output_file import STDOUT

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


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
    except BrokenPipeError:  # `--output /dev/stdout | head`: cli.main ends quietly, as for mentions
        raise
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
    where = "standard output" if output is STDOUT else str(output)
    stderr.print(f"{what.format(count=count)} into {escape(where)}", highlight=False)
    return EXIT_OK


def predict_reach(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from bot.output_file import replacing
    from bot.spread.reach_file import calibration_with_floor, predict_reach_file

    if args.model == "seismic" and args.min_final is not None:
        stderr.print("[red]--min-final applies to --model calibrated only[/]", highlight=False)
        return EXIT_CONFIG

    def work() -> int:
        with replacing(args.output) as scratch:
            calibration = (
                calibration_with_floor(args.min_final) if args.model == "calibrated" else None
            )
            return predict_reach_file(args.input, scratch, args.observe, calibration)

    return _file_command(work, "predicted {count} cascades", args.output, stderr)


def detect_bursts(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    """``detect-bursts``, saying on stderr which bin width was used."""
    from bot.output_file import replacing
    from bot.spread.burst_file import detect_bursts_file

    def say(line: str) -> None:
        stderr.print(escape(line), highlight=False)

    def work() -> int:
        with replacing(args.output) as scratch:
            return detect_bursts_file(args.input, scratch, width=args.bin, say=say)

    return _file_command(work, "scored {count} bins", args.output, stderr)


def score(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from bot.scorefile import ScoreArgumentError, score_file

    def work() -> int:
        return score_file(args.input, args.output, args.text_column, args.languages, stderr)

    return _file_command(work, "scored {count} rows", args.output, stderr, (ScoreArgumentError,))
