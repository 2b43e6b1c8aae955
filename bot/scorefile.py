"""``python -m bot score``: add language, negativity and sentiment columns to a CSV file."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from bot.language import LanguageDetector
from bot.negativity import NegativityScorer

ADDED_COLUMNS = ("lang", "negativity", "sentiment")
CHUNK = 1000


class ScoreFileError(ValueError):
    pass


def score_file(
    source: Path,
    target: Path,
    text_column: str,
    languages: Sequence[str],
    console: Console,
) -> int:
    """Score every row of ``source`` into ``target``; returns the number of rows."""
    scorer = NegativityScorer()
    detector = LanguageDetector(scorer.languages)
    csv.field_size_limit(1_000_000)
    if not source.is_file():
        raise ScoreFileError(f"{source}: no such file")
    with (
        _progress(console) as progress,
        # the progress bar follows the bytes read, so it needs no first pass to count rows
        progress.open(
            source, "r", encoding="utf-8-sig", newline="", description=f"scoring {source.name}"
        ) as infile,
    ):
        reader = csv.DictReader(infile)
        fields = list(reader.fieldnames or [])
        if text_column not in fields:
            raise ScoreFileError(
                f"{source}: no column {text_column!r}; columns are: {', '.join(fields)}"
            )
        with target.open("w", encoding="utf-8", newline="") as outfile:
            writer = csv.DictWriter(
                outfile, fieldnames=fields + [c for c in ADDED_COLUMNS if c not in fields]
            )
            writer.writeheader()
            rows = 0
            # languages a chunk at a time: fastText is twice as fast when its tables stay in
            # the CPU cache, rather than alternating with the scorer (bench/eval_scoring.py)
            while chunk := list(itertools.islice(reader, CHUNK)):
                texts = [row.get(text_column) or "" for row in chunk]
                guesses = detector.detect_many(texts, languages)
                for row, text, language in zip(chunk, texts, guesses, strict=True):
                    negativity = scorer.score(text, language)
                    row.update(
                        lang=language.code,
                        negativity=f"{negativity.score:.4f}",
                        sentiment=negativity.sentiment.value,
                    )
                    writer.writerow(row)
                rows += len(chunk)
    return rows


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
