"""The README tells the truth: every setting documented, CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from bot.config.schema import (
    AppConfig,
    BrandSettings,
    ReplaySourceSettings,
    WebhookSourceSettings,
)

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def settings_of(model: type[BaseModel], prefix: str = "") -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += settings_of(annotation, f"{prefix}{name}.")
        elif name not in ("brands", "sources"):
            names.append(prefix + name)
    return names


def test_every_setting_is_in_the_readme_table() -> None:
    documented = set(re.findall(r"^\| `([^`]+)` \|", README, flags=re.MULTILINE))
    expected = settings_of(AppConfig)
    expected += [f"brands[].{name}" for name in BrandSettings.model_fields]
    shared = {"type", "name"}
    expected += [f"sources[].{name}" for name in shared]
    for model in (ReplaySourceSettings, WebhookSourceSettings):
        expected += [name for name in model.model_fields if name not in shared]
    missing = sorted(set(expected) - documented)
    assert not missing, f"settings missing from README.md: {missing}"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.DOTALL)
    test_command = next(block for block in blocks if "pytest" in block)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command.strip() in ci.splitlines()


def test_the_readme_main_command_runs_the_bot() -> None:
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.DOTALL)
    assert any(block.strip().endswith("python -m bot run") for block in blocks)
