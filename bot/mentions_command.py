"""``python -m bot mentions``: stored mentions, newest first, as a table or JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from bot.command_words import brands_named
from bot.config import AppConfig
from bot.durations import parse_since
from bot.read_commands import config_of, open_for_reading, read_command

EXIT_OK, EXIT_CONFIG = 0, 2


def mentions(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    config = config_of(args)
    try:
        since = parse_since(args.since, datetime.now(UTC)) if args.since else None
    except ValueError as error:
        stderr.print(f"[red]--since[/]: {escape(str(error))}")
        return EXIT_CONFIG
    brand = _brand_slug(config, args.brand) if args.brand else None
    if brand is None and args.brand:
        known = ", ".join(f"{b.name} ({b.brand_slug})" for b in config.brands)
        said = escape(f"no brand {args.brand!r} in the configuration; {known}")
        stderr.print(f"[red]--brand[/]: {said}")
        return EXIT_CONFIG

    def show() -> int:
        from storage.mentions import find_mentions, latest_post_time

        db = open_for_reading(config.storage.path)
        with db.conn:
            rows = find_mentions(
                db,
                brand=brand,
                since=since,
                negative=args.negative,
                limit=args.limit,
                own=_own_accounts(config),
            )
            newest = latest_post_time(db) if since and not rows else None
        db.close()
        if since and newest and newest < since:
            stderr.print(_all_older(args.since, since, newest), highlight=False)
        if args.json:
            for row in rows:
                sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
            return EXIT_OK
        shown = {name for row in rows for name in row["brands"]}
        stdout.print(_mention_table(rows, show_brands=brand is None and len(shown) > 1))
        return EXIT_OK

    return read_command(config.storage.path, stderr, show)


def _all_older(typed: str, since: datetime, newest: datetime) -> str:
    """Why nothing is shown when every stored mention is older than ``--since`` (a replay of
    old posts: durations count back from the wall clock, not from the replayed story's time)."""
    return escape(
        f"no mentions since {since:%Y-%m-%d %H:%M} UTC (--since {typed}); the newest stored "
        f"was posted {newest:%Y-%m-%d %H:%M} UTC: try --since {newest:%Y-%m-%d}"
    )


def _own_accounts(config: AppConfig) -> dict[str, frozenset[str]]:
    from bot.accounts import own_accounts

    return {brand.brand_slug: own_accounts(brand.handles) for brand in config.brands}


def _brand_slug(config: AppConfig, wanted: str) -> str | None:
    """The slug of the configured brand named or slugged ``wanted`` (accents and curly
    apostrophes aside); None if there is none, or several."""
    found = brands_named(wanted, {brand.brand_slug: brand.name for brand in config.brands})
    return found[0] if len(found) == 1 else None


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
