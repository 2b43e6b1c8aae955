"""A stored position of another shape than the source's (it was renamed, or changed type) is
read as no position, with a warning: the source starts as at its first run, never crash-loops."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.sources.polling import load_cursor
from bot.sources.replay import Position
from tests.conftest import wait_for
from tests.fake_feeds import FakeFeeds
from tests.fake_hackernews import FakeHackerNews
from tests.test_source_hackernews import source_for as hn_source_for
from tests.test_source_hackernews import stories
from tests.test_source_rss import Recorder, alerts, make_source, numbers

ODD = ["[1, 2]", "5", '"feeds"', "null", "{not json", '{"records": 12}']


@pytest.mark.parametrize("position", ODD[:-1])
async def test_a_feed_source_given_another_shape_of_position_starts_afresh(
    position: str, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    async with FakeFeeds() as feeds:
        feeds.publish("alerts", alerts(1, 2))
        source = make_source([feeds.url("alerts")], recorder)
        task = asyncio.create_task(source.run(recorder, position))
        try:
            await wait_for(lambda: bool(recorder.envelopes) or task.done())
        finally:
            task.cancel()
        assert not task.done() or task.cancelled()  # it did not crash
    assert numbers(recorder.mentions) == [1, 2]
    assert "stored position" in caplog.text
    assert "starting as a first run" in caplog.text


async def test_a_search_source_given_another_shape_of_position_starts_afresh() -> None:
    recorder = Recorder()
    async with FakeHackerNews() as hn:
        hn.add(*stories(1, 3, 1_700_000_000))
        source = hn_source_for(hn)
        task = asyncio.create_task(source.run(recorder, '["kestrel"]'))
        try:
            await wait_for(lambda: bool(recorder.envelopes) or task.done())
        finally:
            task.cancel()
    assert [m.native_id for m in recorder.mentions] == ["1", "2", "3"]


def test_a_cursor_of_the_right_shape_is_kept() -> None:
    assert load_cursor("news", '{"feeds": {}}') == {"feeds": {}}
    assert load_cursor("news", None) == {}


@pytest.mark.parametrize("position", [*ODD[:-1], '{"records": "many"}', '{"offset": 3}'])
def test_a_replay_given_another_shape_of_position_starts_from_the_top(
    position: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert Position.decode(position) == Position()
    assert "unreadable" in caplog.text
    assert Position.decode(ODD[-1]) == Position(12)
