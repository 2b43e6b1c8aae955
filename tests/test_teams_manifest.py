"""The Teams app package: a manifest Teams accepts (its required fields, one bot with the
commands Vigie understands) and icons of the sizes Teams asks for."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from bot.chat_commands import HELP

APP = Path(__file__).resolve().parents[1] / "handlers" / "teams" / "app"


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_the_manifest_names_the_bot_and_its_icons() -> None:
    manifest = json.loads((APP / "manifest.json").read_text(encoding="utf-8"))
    for field in ("manifestVersion", "version", "id", "developer", "name", "description", "icons"):
        assert manifest[field], field
    [bot] = manifest["bots"]
    assert bot["botId"] == manifest["id"]
    assert {"team", "groupChat", "personal"} <= set(bot["scopes"])
    assert len(manifest["name"]["short"]) <= 30
    assert len(manifest["description"]["short"]) <= 80
    for commands in bot["commandLists"]:
        titles = [c["title"] for c in commands["commands"]]
        assert all(title in dict(HELP) or title == "watch" for title in titles)
    assert png_size(APP / manifest["icons"]["color"]) == (192, 192)
    assert png_size(APP / manifest["icons"]["outline"]) == (32, 32)


def test_watch_is_offered_in_team_channels_only() -> None:
    """A chat cannot hold the channel threads cards start: Vigie refuses watch there, so the
    command menu of a group or personal chat does not offer it (one list per scope)."""
    manifest = json.loads((APP / "manifest.json").read_text(encoding="utf-8"))
    [bot] = manifest["bots"]
    menus = {scope: lst for lst in bot["commandLists"] for scope in lst["scopes"]}
    assert sorted(menus) == sorted(bot["scopes"])
    assert len(bot["commandLists"]) == len(menus) <= 3  # the schema's maximum
    for scope, menu in menus.items():
        titles = {c["title"] for c in menu["commands"]}
        assert ("watch" in titles) is (scope == "team"), scope
        assert {"incidents", "help"} <= titles
