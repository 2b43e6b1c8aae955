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
    commands = [c["title"] for c in bot["commandLists"][0]["commands"]]
    assert all(command in dict(HELP) or command == "watch" for command in commands)
    assert png_size(APP / manifest["icons"]["color"]) == (192, 192)
    assert png_size(APP / manifest["icons"]["outline"]) == (32, 32)
