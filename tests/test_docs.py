"""The README tells the truth: every setting documented, every documented setting real, the
defaults its tables state are the schema's, and CI runs the README's test command."""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pytest
import yaml
from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo

from bot.config.schema import AppConfig, BrandSettings, SourceSettings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")

# every source type's settings, by its `type` (as its README section is headed)
SOURCE_MODELS: dict[str, type[BaseModel]] = {
    typing.get_args(model.model_fields["type"].annotation)[0]: model
    for model in typing.get_args(typing.get_args(SourceSettings)[0])
}
SHARED = ("type", "name")  # every source has them; documented once, as sources[].type/name


def settings_of(model: type[BaseModel], prefix: str = "") -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += settings_of(annotation, f"{prefix}{name}.")
        elif name not in ("brands", "sources"):
            names.append(prefix + name)
    return names


@dataclass(frozen=True)
class Row:
    """One row of a settings table: where it is, which model it documents, its keys as the
    table writes them (a row may document several), and its default cell."""

    line: int
    model: type[BaseModel]
    keys: tuple[str, ...]
    default: str


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def settings_rows() -> list[Row]:
    """Every row of every settings table (`| setting | default | meaning |`), with the model it
    documents: a source section's table documents that source's settings, a table headed
    `` `platforms.slack.` setting `` the keys under that prefix, any other full dotted keys."""
    rows: list[Row] = []
    lines = README.splitlines()
    heading = ""
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("#"):
            heading = line
        header = _cells(line) if line.startswith("|") else []
        if len(header) == 3 and header[0].endswith("setting") and header[1] == "default":
            prefix = re.fullmatch(r"(?:`([^`]+)` )?setting", header[0])
            assert prefix is not None, f"README.md:{index + 1}: unexpected table header {line}"
            kind = re.search(r"`(\w+)` source", heading)
            model: type[BaseModel] = SOURCE_MODELS[kind[1]] if kind else AppConfig
            index += 2  # the header and its |---| line
            while index < len(lines) and lines[index].startswith("|"):
                key_cell, default, *_ = _cells(lines[index])
                assert re.fullmatch(r"`[^`]+`(, `[^`]+`)*", key_cell), (
                    f"README.md:{index + 1}: the first cell names settings in backticks"
                )
                keys = [f"{prefix[1] or ''}{key}" for key in re.findall(r"`([^`]+)`", key_cell)]
                rows.append(Row(index + 1, model, tuple(keys), default))
                index += 1
            continue
        index += 1
    return rows


ROWS = settings_rows()


def _models_of(annotation: Any) -> list[type[BaseModel]]:
    """The models a field holds: itself, or the model of an optional one."""
    candidates = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    return [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def field_of(model: type[BaseModel], key: str) -> FieldInfo | None:
    """The field a documented key names, through nested (and optional) models, `brands[].`
    and `sources[].`; None when there is no such setting."""
    head, _, rest = key.partition(".")
    if model is AppConfig and head == "brands[]":
        return field_of(BrandSettings, rest)
    if model is AppConfig and head == "sources[]":
        found = [field_of(source, rest) for source in SOURCE_MODELS.values()]
        return found[0] if rest in SHARED and all(found) else None
    field = model.model_fields.get(head)
    if field is None or not rest:
        return field
    nested = _models_of(field.annotation)
    return field_of(nested[0], rest) if nested else None


def test_every_setting_is_in_the_readme_tables() -> None:
    documented = {(row.model, key) for row in ROWS for key in row.keys}
    expected = [(AppConfig, name) for name in settings_of(AppConfig)]
    expected += [(AppConfig, f"brands[].{name}") for name in BrandSettings.model_fields]
    expected += [(AppConfig, f"sources[].{name}") for name in SHARED]
    for platform in ("slack", "teams"):
        model = _models_of(AppConfig.model_fields["platforms"].annotation)[0]
        settings = _models_of(model.model_fields[platform].annotation)[0]
        expected += [(AppConfig, f"platforms.{platform}.{name}") for name in settings.model_fields]
    for source in SOURCE_MODELS.values():
        expected += [(source, name) for name in source.model_fields if name not in SHARED]
    missing = sorted(
        f"{model.__name__}: {key}" for model, key in expected if (model, key) not in documented
    )
    assert not missing, f"settings missing from README.md: {missing}"


def test_every_documented_setting_exists() -> None:
    unknown = [
        f"README.md:{row.line}: {key} ({row.model.__name__})"
        for row in ROWS
        for key in row.keys
        if field_of(row.model, key) is None
    ]
    assert ROWS, "no settings table found in README.md"
    assert not unknown, f"README.md documents settings the schema does not have: {unknown}"


def _stated_defaults() -> list[tuple[Row, str, str]]:
    """(row, key, default cell) for each key whose row states a checkable default: `required`,
    `none`, or one literal in backticks. Prose ("from the suffix", "the brands' terms") is
    skipped; a row of several keys states one default for all, or one each (`200`, `0.5`)."""
    stated = []
    for row in ROWS:
        parts = [row.default]
        if len(row.keys) > 1 and row.default not in ("required", "none"):
            parts = [part.strip() for part in row.default.split(",")]
            if len(parts) != len(row.keys):
                continue
        for key, part in zip(row.keys, parts * len(row.keys), strict=False):
            if part in ("required", "none") or re.fullmatch(r"`[^`]*`", part):
                stated.append((row, key, part))
    return stated


STATED = _stated_defaults()


def test_the_default_check_covers_the_simple_settings() -> None:
    checked = {key for _, key, _ in STATED}
    for key in (
        "storage.batch_size",
        "http.port",
        "incidents.group_wait",
        "platforms.teams.app_type",
    ):
        assert key in checked, f"{key}'s default is no longer checked: is its row still there?"
    assert len(STATED) > 100


@pytest.mark.parametrize(
    ("row", "key", "default"),
    STATED,
    ids=[f"{row.model.__name__}.{key}" for row, key, _ in STATED],
)
def test_a_documented_default_is_the_schema_default(row: Row, key: str, default: str) -> None:
    field = field_of(row.model, key)
    assert field is not None, f"README.md:{row.line}: no setting {key}"
    where = f"README.md:{row.line}: {key}"
    if default == "required":
        assert field.is_required(), f"{where} is documented as required but has a default"
        return
    assert not field.is_required(), f"{where} is required, not {default}"
    actual = field.get_default(call_default_factory=True)
    if default == "none":
        assert actual is None, f"{where}: documented none, the schema says {actual!r}"
        return
    # read the documented value as app.yaml would be read, through the field's own type
    documented = yaml.safe_load(default.strip("`"))
    annotated: Any = Annotated[(field.annotation, *field.metadata)] if field.metadata else None
    adapter: TypeAdapter[Any] = TypeAdapter(annotated or field.annotation)
    assert adapter.validate_python(documented) == actual, (
        f"{where}: documented {default}, the schema's default is {actual!r}"
    )


def test_ci_runs_exactly_the_readme_test_command() -> None:
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.DOTALL)
    test_command = next(block for block in blocks if "pytest" in block)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command.strip() in ci.splitlines()


def test_the_readme_main_command_runs_the_bot() -> None:
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.DOTALL)
    assert any(block.strip().endswith("python -m bot run") for block in blocks)
