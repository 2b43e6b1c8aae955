"""Webhook and storage: mentions of one source told apart by their ids, not by a shared link."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import WEBHOOK_SECRET, mention_record, running_service, write_config
from tests.test_webhook import post, signed, stored

PRODUCT = "https://apps.example/app/kestrel-mobile/id123"


async def test_reviews_of_one_webhook_linking_to_one_page_are_each_stored(
    tmp_path: Path,
) -> None:
    config = write_config(
        tmp_path, [{"type": "webhook", "name": "inbound", "secret": WEBHOOK_SECRET}]
    )
    reviews = [mention_record(n, url=PRODUCT) for n in (1, 2)]
    body = json.dumps(reviews).encode()
    later = json.dumps([mention_record(3, url=PRODUCT + "?utm_source=store")]).encode()
    async with running_service(config) as service:
        status, answer = await post(service.http_port, body, signed(body))
        _, next_answer = await post(service.http_port, later, signed(later))
    assert status == 200
    assert (answer["stored"], answer["duplicates"]) == (2, 0)
    assert (next_answer["stored"], next_answer["duplicates"]) == (1, 0)
    assert {row["native_id"] for row in stored(config)} == {"m-1", "m-2", "m-3"}


async def test_a_link_stored_through_another_source_is_still_a_duplicate(
    tmp_path: Path,
) -> None:
    sources = [
        {"type": "webhook", "name": name, "secret": WEBHOOK_SECRET} for name in ("inbound", "other")
    ]
    config = write_config(tmp_path, sources)
    first = json.dumps([mention_record(1, url="https://news.example/kestrel-down")]).encode()
    again = json.dumps([mention_record(2, url="https://www.news.example/kestrel-down/")]).encode()
    async with running_service(config) as service:
        await post(service.http_port, first, signed(first))
        _, answer = await post(service.http_port, again, signed(again), name="other")
    assert (answer["stored"], answer["duplicates"]) == (0, 1)
    assert [row["native_id"] for row in stored(config)] == ["m-1"]
