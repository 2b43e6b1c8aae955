"""A service that goes on after its replays (for Slack or Teams) keeps time flowing: waits,
snoozes, reminders and calm end on the watch, from where the story ended."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.clock import EventClock
from tests.conftest import mention_record, running_service, wait_for, write_config, write_jsonl


def story_config(folder: Path) -> Path:
    """A replay of 30 complaints, as fast as it goes, with timers checked every 50 ms."""
    data = write_jsonl(folder / "story.jsonl", [mention_record(n) for n in range(30)])
    source = {"type": "replay", "name": "file", "path": str(data), "speed": 0}
    return write_config(folder, [source], delivery={"tick_seconds": 0.05})


async def test_time_flows_on_after_the_story(tmp_path: Path) -> None:
    config = story_config(tmp_path)
    async with running_service(config) as service:
        await wait_for(service.story_over.is_set)
        assert isinstance(service.clock, EventClock)
        engine = service.desk.engine
        story_end = engine.now
        assert story_end is not None
        await wait_for(lambda: engine.now is not None and engine.now > story_end)
        assert service.clock.now() >= engine.now


async def test_a_restart_resumes_time_where_it_had_flowed_to(tmp_path: Path) -> None:
    config = story_config(tmp_path)
    async with running_service(config) as service:
        await wait_for(service.story_over.is_set)
        engine = service.desk.engine
        story_end = engine.now
        assert story_end is not None
        await wait_for(lambda: engine.now is not None and engine.now > story_end)
    flowed_to = engine.now
    assert flowed_to is not None
    async with running_service(config) as again:  # the replay is consumed: nothing new
        # not back at the last post (the engine's time is stored to the millisecond)
        assert again.clock.now() >= flowed_to - timedelta(milliseconds=1)
        await wait_for(again.story_over.is_set)
        engine = again.desk.engine
        await wait_for(lambda: engine.now is not None and engine.now > flowed_to)


async def test_a_failed_replay_still_ends_the_story(tmp_path: Path) -> None:
    data = tmp_path / "story.csv"
    data.write_text("when,what\n2026-03-10T09:00:00Z,Kestrel down\n", encoding="utf-8")
    source = {"type": "replay", "name": "file", "path": str(data), "speed": 0}
    config = write_config(tmp_path, [source], delivery={"tick_seconds": 0.05})
    async with running_service(config) as service:
        await wait_for(lambda: service.sources["file"].state == "failed")
        await wait_for(service.story_over.is_set)
