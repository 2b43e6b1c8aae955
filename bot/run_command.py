"""``python -m bot run``: the service in the foreground, logging to the terminal or to stderr."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable

from rich.console import Console
from rich.logging import RichHandler

from bot.config import default_config_path, load_config

EXIT_OK, EXIT_FAILED = 0, 1
logger = logging.getLogger("bot")


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


def run(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from bot.app import ServiceError, build, install_signal_handlers, serve
    from storage.database import StorageError

    config = load_config(default_config_path(args.config))
    _setup_logging("DEBUG" if args.verbose else config.logging.level, stderr)

    async def go() -> bool:
        stop = asyncio.Event()
        stopping: list[Callable[[], None]] = []
        install_signal_handlers(stop, stopping)
        service = build(config, stdout)
        stopping.append(service.intake.scorer.stopping)  # told at once, by the handler
        return await serve(service, exit_when_idle=args.exit_when_idle, stop=stop)

    try:
        ok = asyncio.run(go())
    except (ServiceError, StorageError) as error:
        logger.error("%s", error)
        return EXIT_FAILED
    return EXIT_OK if ok else EXIT_FAILED
