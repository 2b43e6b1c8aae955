"""A boolean where a number belongs is an error, not 1 or 0: `port: on` once listened on port 1.
Numbers written as text still count (`${VIGIE_PORT:-8080}` is text once substituted)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from bot.cli import main
from bot.config import ConfigError, load_config
from bot.config.schema import AppConfig

WEBHOOK = "{type: webhook, name: hook, secret: '0123456789abcdef0'}"


def config_with(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "app.yaml"
    path.write_text(f"brands: [{{name: Acme}}]\nsources: [{WEBHOOK}]\n{text}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("word", ["true", "yes", "on", "false", "no", "off"])
def test_a_port_written_as_a_yaml_boolean_is_refused(tmp_path: Path, word: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(config_with(tmp_path, f"http: {{port: {word}}}"))
    assert "line 3: http.port: expected a number, got" in str(error.value)


def test_check_config_refuses_it_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", "-c", str(config_with(tmp_path, "http: {port: true}"))]) == 2
    assert "http.port: expected a number, got true" in capsys.readouterr().err


@pytest.mark.parametrize(
    "text",
    [
        "storage: {batch_size: yes}",
        "pipeline: {workers: on}",
        "pipeline: {queue_size: on}",
        "console: {min_negativity: true}",
        "delivery: {max_attempts: yes}",
        "delivery: {pace_seconds: on}",
        "engagement: {max_posts: on}",
        "incidents: {min_mentions: yes}",
        "incidents: {levels: [{name: watch, min_risk: on}]}",
        "replies: {max_mentions: yes}",
        "replies: {generator: {url: 'http://127.0.0.1:1/v1', model: m, max_variants: on}}",
    ],
)
def test_every_other_number_refuses_a_boolean_too(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match="expected a number, got true"):
        load_config(config_with(tmp_path, text))


@pytest.mark.parametrize(
    "source",
    [
        "{type: replay, name: r, path: m.jsonl, speed: on}",
        f"{WEBHOOK[:-1]}, max_batch: on}}",
        "{type: rss, name: feeds, feeds: ['http://127.0.0.1:1/feed'], max_entries: on}",
        "{type: bluesky, name: sky, batch_size: yes}",
        "{type: mastodon, name: masto, base_url: 'http://127.0.0.1:1', max_pages: on}",
        "{type: x, name: x, bearer_token: t, backfill_minutes: yes}",
        "{type: hackernews, name: hn, poll_seconds: on}",
    ],
)
def test_source_numbers_refuse_a_boolean(tmp_path: Path, source: str) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(f"brands: [{{name: Acme}}]\nsources: [{source}]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="expected a number, got true"):
        load_config(path)


def test_numbers_from_the_environment_are_still_numbers(tmp_path: Path) -> None:
    path = config_with(tmp_path, "http: {port: '${PORT:-8080}'}\npipeline: {workers: '${W}'}")
    config = load_config(path, environ={"W": "2"})
    assert (config.http.port, config.pipeline.workers) == (8080, 2)
    assert (
        load_config(config_with(tmp_path, "pipeline: {workers: auto}")).pipeline.workers == "auto"
    )


def numeric_settings(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every int or float setting of ``model``, nested models included."""
    found = []
    for name, field in model.model_fields.items():
        annotation: Any = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found += numeric_settings(annotation, f"{prefix}{name}.")
        elif annotation in (int, float, int | None, float | None):
            found.append(prefix + name)
    return found


def test_every_top_level_number_has_the_check() -> None:
    """A new numeric setting declared as a plain int would take `on` as 1 again."""
    unchecked = []
    for setting in numeric_settings(AppConfig):
        section, name = setting.rsplit(".", 1) if "." in setting else ("", setting)
        model: Any = AppConfig
        for part in filter(None, section.split(".")):
            model = model.model_fields[part].annotation
        validators = [type(m).__name__ for m in model.model_fields[name].metadata]
        if "BeforeValidator" not in validators:
            unchecked.append(setting)
    assert unchecked == []
