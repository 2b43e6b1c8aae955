"""A service that goes on after its replays (for Slack or Teams) keeps time flowing: waits,
snoozes, reminders and calm end on the watch, from where the story ended."""

from __future__ import annotations

from pathlib import Path

from bot.clock import EventClock
from tests.conftest import mention_record, running_service, wait_for, write_config, write_jsonl


async def test_time_flows_on_after_the_story(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "story.jsonl", [mention_record(n) for n in range(30)])
    source = {"type": "replay", "name": "file", "path": str(data), "speed": 0}
    config = write_config(tmp_path, [source], delivery={"tick_seconds": 0.05})
    async with running_service(config) as service:
        await wait_for(service.story_over.is_set)
        assert isinstance(service.clock, EventClock)
        engine = service.desk.engine
        story_end = engine.now
        assert story_end is not None
        await wait_for(lambda: engine.now is not None and engine.now > story_end)
        assert service.clock.now() >= engine.now
