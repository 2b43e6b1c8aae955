"""``python -m bot check-config``: validate app.yaml, say what it sets up, and check that each
replay source's file can be replayed, naming the line of the setting to fix."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from bot.config import AppConfig, ReplaySourceSettings, default_config_path, load_config
from bot.config.loader import load_yaml

EXIT_OK, EXIT_CONFIG = 0, 2


def check_config(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    path = default_config_path(args.config)
    config = load_config(path)
    problems = _replay_problems(config, path)
    stdout.print(
        f"{'[red]not ok[/]' if problems else '[green]ok[/]'} {escape(str(path))}: "
        f"{len(config.brands)} brand(s), {len(config.sources)} source(s), "
        f"storage {escape(str(config.storage.path))}"
    )
    for brand in config.brands:
        terms = 1 + len(brand.keywords) + len(brand.aliases) + len(brand.hashtags)
        terms += len(brand.handles)
        stdout.print(
            f"  brand {escape(brand.name)} ({brand.brand_slug}): {terms} terms, "
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
    for name, target in config.incidents.targets.items():
        mention = target.mention.strip()
        paged = f", mentions {escape(mention)}" if mention and mention.lower() != "none" else ""
        stdout.print(
            f"  target {escape(name)}: {target.platform} channel {escape(target.channel)}{paged}",
            highlight=False,
        )
    warnings = [
        *config.unused_platform_warnings(),
        *config.clock_warnings(),
        *config.webhook_warnings(),
    ]
    for warning in (*warnings, *config.access_warnings()):
        stderr.print(f"[bold yellow]warning[/] {escape(warning)}", highlight=False)
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
