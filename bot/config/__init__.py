"""Load and validate ``app.yaml``. Errors name the key and the line, and the CLI exits non-zero."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, SecretStr, ValidationError

from bot.config.incidents import EscalateOptions
from bot.config.loader import ConfigError, LoadedYaml, load_yaml
from bot.config.schema import (
    AppConfig,
    BrandSettings,
    ReplaySourceSettings,
    SourceSettings,
    WebhookSourceSettings,
)

__all__ = [
    "AppConfig",
    "BrandSettings",
    "ConfigError",
    "ReplaySourceSettings",
    "SourceSettings",
    "WebhookSourceSettings",
    "default_config_path",
    "load_config",
]

DEFAULT_CONFIG = "app.yaml"


def default_config_path(explicit: str | None = None) -> Path:
    """``-c FILE`` wins, then ``$VIGIE_CONFIG``, then ``app.yaml`` in the current folder."""
    return Path(explicit or os.environ.get("VIGIE_CONFIG") or DEFAULT_CONFIG)


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> AppConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    loaded = load_yaml(text, str(path), environ)
    if not isinstance(loaded.data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping (storage:, brands:, sources:)")
    try:
        config = AppConfig.model_validate(loaded.data)
    except ValidationError as error:
        raise ConfigError(_describe(error, loaded, str(path))) from None
    _check_unique_names(config, loaded, str(path))
    _check_teams_identity(config, loaded, str(path))
    return _resolve_paths(config, path.resolve().parent)


def _check_teams_identity(config: AppConfig, loaded: LoadedYaml, source: str) -> None:
    """Without an app id, /api/messages cannot tell Teams from anyone: that is for a local test
    on a loopback address, never for a service others can reach."""
    teams = config.platforms.teams
    if teams is None or teams.app_id or not config.http.enabled or _loopback(config.http.host):
        return
    line = loaded.line_of(("platforms", "teams", "app_id"))
    raise ConfigError(
        f"{source}: line {line}: platforms.teams.app_id is empty, so anyone who can reach "
        f"{config.http.host}:{config.http.port} could act as any Teams user; set it (the Azure "
        "Bot's Microsoft App ID), or listen on 127.0.0.1 only for a local test"
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_unique_names(config: AppConfig, loaded: LoadedYaml, source: str) -> None:
    """Brands and sources are referred to by name, so two of one name cannot be told apart."""
    entries = [("brands", index, brand.brand_slug) for index, brand in enumerate(config.brands)]
    entries += [("sources", index, item.name) for index, item in enumerate(config.sources)]
    seen: dict[tuple[str, str], int] = {}
    for section, index, name in entries:
        first = seen.setdefault((section, name), index)
        if first != index:
            line = loaded.line_of((section, index, "name"))
            raise ConfigError(
                f"{source}: line {line}: {section}[{index}].name: {name!r} is already the name "
                f"of {section}[{first}]; names must be unique"
            )


def _describe(error: ValidationError, loaded: LoadedYaml, source: str) -> str:
    problems = []
    for item in error.errors(include_url=False):
        # Discriminated unions add the tag ('replay') to the location; it is not a key in the file.
        tags = ("replay", "webhook", "mastodon", "bluesky", "reddit", "hackernews", "rss", "x")
        path = _without_step_tags(tuple(part for part in item["loc"] if part not in tags))
        key = ".".join(str(part) if isinstance(part, str) else f"[{part}]" for part in path)
        key = key.replace(".[", "[")
        message = str(item["msg"]).removeprefix("Value error, ")
        if (deeper := _key_named(message, path, loaded)) is not None:
            path, message = deeper
            key = _dotted(path)
        line = loaded.line_of(path)
        where = f"line {line}: " if line else ""
        if item["type"] == "extra_forbidden":
            message = _misplaced(item["loc"]) or (
                "unknown setting (misspelt? README.md lists every setting)"
            )
        elif item["type"] in _TYPE_ERRORS:
            named = [part for part in path if isinstance(part, str)]
            secret = bool(named) and named[-1] in _secret_fields()
            message += _yaml_hint(item.get("input"), secret=secret)
        problems.append((line or 0, f"  {where}{key or '(top level)'}: {message}"))
    count = len(problems)
    listed = "\n".join(text for _, text in sorted(problems, key=lambda problem: problem[0]))
    return f"{source}: {count} problem{'s' if count > 1 else ''}\n{listed}"


_STEP_KINDS = ("notify", "wait", "escalate")


def _without_step_tags(path: tuple[Any, ...]) -> tuple[Any, ...]:
    """A step's kind, which pydantic adds after ``steps, <index>`` to tell the union's members
    apart, is not a key of its own: ``steps[1].escalate.to`` is the key ``to`` under the step's
    ``escalate:``, ``steps[1].only_if_rising`` a key beside it."""
    return tuple(
        part
        for index, part in enumerate(path)
        if not (
            part in _STEP_KINDS
            and index >= 2
            and isinstance(path[index - 1], int)
            and path[index - 2] == "steps"
        )
    )


def _misplaced(loc: tuple[Any, ...]) -> str | None:
    """An unknown key beside ``escalate:`` that is one of its own settings was meant under it:
    a YAML indentation slip, which "unknown setting" alone would not explain."""
    if len(loc) < 4 or loc[-4] != "steps" or loc[-2] != "escalate":
        return None
    key = loc[-1]
    if key not in EscalateOptions.model_fields:
        return None
    return (
        f"{key} is a setting of escalate, but is written beside it, as a setting of the step: "
        f"indent it under escalate: (two more spaces), or write escalate: {{{key}: …}}"
    )


_TYPE_ERRORS = frozenset({"string_type", "list_type", "dict_type"})
_NAMED_KEY = re.compile(r"([a-z_]+(?:\.[a-z_]+|\[\d+\])+)[ :]+")


def _key_named(
    message: str, path: tuple[Any, ...], loaded: LoadedYaml
) -> tuple[tuple[Any, ...], str] | None:
    """A check across sections is reported where the settings meet (the top level, a section);
    when its message starts by naming a deeper key that is in the file ("platforms.slack.
    responders names…"), that key and its line say better where to look."""
    found = _NAMED_KEY.match(message)
    if found is None:
        return None
    named = tuple(
        int(part) if part.isdigit() else part for part in re.split(r"\.|\[|\]\.?", found[1]) if part
    )
    if len(named) <= len(path) or named[: len(path)] != path or not loaded.line_of(named):
        return None
    return named, message[found.end() :]


def _dotted(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[")


def _yaml_hint(value: object, *, secret: bool = False) -> str:
    """Why YAML may have read a value as something else than what was meant (a secret's value
    is never shown)."""
    if value is None:
        return " (got nothing: YAML reads everything after an unquoted # as a comment; quote it)"
    if isinstance(value, bool):
        return f" (YAML reads an unquoted yes/no/on/off as {str(value).lower()}; quote it)"
    if isinstance(value, int | float):
        shown = "it" if secret else str(value)
        return f" (YAML read {shown} as a number; quote it)"
    return ""


@cache
def _secret_fields() -> frozenset[str]:
    """The names of the settings that hold secrets (SecretStr), anywhere in the configuration."""
    names: set[str] = set()
    seen: set[type] = set()

    def walk(annotation: Any) -> None:
        for inner in get_args(annotation):
            walk(inner)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation in seen:
                return
            seen.add(annotation)
            for name, field in annotation.model_fields.items():
                if _holds_secret(field.annotation):
                    names.add(name)
                walk(field.annotation)

    walk(AppConfig)
    return frozenset(names)


def _holds_secret(annotation: Any) -> bool:
    return annotation is SecretStr or any(_holds_secret(a) for a in get_args(annotation))


def _resolve(path: Path, base: Path, must_exist: bool) -> Path:
    """Relative paths are read from app.yaml's folder (an input file also from the working one)."""
    path = path.expanduser()
    if path.is_absolute():
        return path
    beside_config = base / path
    if must_exist and not beside_config.exists() and path.exists():
        return path.resolve()
    return beside_config


def _resolve_paths(config: AppConfig, base: Path) -> AppConfig:
    storage = config.storage.model_copy(update={"path": _resolve(config.storage.path, base, False)})
    sources = [
        source.model_copy(update={"path": _resolve(source.path, base, True)})
        if isinstance(source, ReplaySourceSettings)
        else source
        for source in config.sources
    ]
    platforms = config.platforms
    if platforms.file is not None:
        file = platforms.file.model_copy(
            update={"path": _resolve(platforms.file.path, base, False)}
        )
        platforms = platforms.model_copy(update={"file": file})
    return config.model_copy(
        update={"storage": storage, "sources": sources, "platforms": platforms}
    )
