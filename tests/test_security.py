"""Hostile use of Vigie's doors, end to end over HTTP on 127.0.0.1, beyond what the per-feature
tests check (forged and stale signatures, bad Teams tokens, non-responders): replayed requests
act once, an approver of one brand cannot decide another brand's drafts, SQL metacharacters in
slash commands are only text, Slack markup in what people post stays inert in cards and drafts,
oversized bodies are refused before they are read, malformed unauthenticated requests get a 4xx,
and no secret ever reaches a log line or ``check-config``'s output."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlite_utils

from bot.app import Service
from bot.intake import Envelope, Intake, Receipt
from bot.metrics import Metrics
from bot.model import Brand, Mention, ScoredMention
from bot.sources.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from bot.workers import Failure, InlineScorer, Outcome
from handlers.slack.render_drafts import (
    APPROVE,
    EDIT,
    EDIT_VIEW,
    REASON_BLOCK,
    REASON_INPUT,
    REJECT,
    REJECT_VIEW,
    TEXT_BLOCK,
    TEXT_INPUT,
)
from storage.mentions import save_batch
from storage.unfiled import Stored
from storage.writer import Writer
from tests.conftest import (
    WEBHOOK_SECRET,
    mention_record,
    running_service,
    wait_for,
    write_config,
    write_jsonl,
)
from tests.fake_bluesky import FakeBluesky, post_event
from tests.fake_connector import APP_ID, FakeConnector, bot_added_activity, post_activity
from tests.fake_llm import FakeLanguageModel
from tests.fake_mastodon import FakeMastodon
from tests.slack_fake import (
    FakeSlack,
    block_action_body,
    post_signed,
    signed_headers,
    slash_command_body,
    view_submission_body,
)
from tests.teams_auth import OpenIdServer, bad_tokens, bearer
from tests.teams_auth import sign as sign_token
from tests.test_drafts_slack import buttons, drafts_messages, shown
from tests.test_slack import (
    SECRET,
    card_posted,
    cards,
    delivered,
    events_url,
    vigie_with_slack,
)
from tests.test_slack_inbound import BROKEN, a_broken_incident

ROOT = Path(__file__).resolve().parents[1]
ANA, BOB = "UANA", "UBOB"  # approvers of Kestrel Mobile only, of Osprey Air only
KESTREL = {"name": "Kestrel Mobile", "keywords": ["kestrel mobile", "kestrel"]}
OSPREY = {"name": "Osprey Air", "keywords": ["osprey air", "osprey"]}
DRAFTS_POLICY: dict[str, Any] = {
    "group_wait": "1m",
    "targets": {"team": {"platform": "slack", "channel": "C1"}},
    "levels": [
        {"name": "watch", "min_risk": 20, "steps": [{"notify": "team"}]},
        {"name": "crisis", "min_risk": 99, "steps": [{"notify": "team"}]},
    ],
}
DECISIONS = "SELECT actor, action FROM decisions WHERE draft_id = ? ORDER BY at"
HOSTILE = "<!channel> <!here> <@U123> <https://evil.example|click> *bold*"


def storm(text: str, count: int = 16, **fields: Any) -> list[dict[str, Any]]:
    """Negative mentions two minutes apart; the sixth reaches farthest (its drafts come first)."""
    return [
        mention_record(
            n + 1,
            f"{text} #{n}",
            created_at=f"2026-03-10T09:{2 * n:02d}:00Z",
            followers=100_000 if n == 5 else 10 + n,
            url=f"https://social.example/p/{n}",
            **(fields if n == 5 else {}),
        )
        for n in range(count)
    ]


@asynccontextmanager
async def vigie_with_drafts(
    tmp_path: Path, records: list[dict[str, Any]]
) -> AsyncIterator[tuple[Service, FakeSlack, Path]]:
    """Two brands, each with its own approver; a replayed storm; Slack over HTTP."""
    data = write_jsonl(tmp_path / "storm.jsonl", records)
    async with FakeSlack() as slack:
        config = write_config(
            tmp_path,
            [{"type": "replay", "name": "file", "path": str(data)}],
            brands=[KESTREL, OSPREY],
            clock="event",
            incidents=DRAFTS_POLICY,
            platforms={
                "slack": {
                    "bot_token": "xoxb-test",
                    "signing_secret": SECRET,
                    "api_url": slack.api_url,
                    "approvers": {"kestrel-mobile": [ANA], "osprey-air": [BOB]},
                }
            },
            delivery={"pace_seconds": 0},
        )
        async with running_service(config) as service:
            yield service, slack, config


def rows(database: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """A query on Vigie's SQLite file, read-only."""
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


async def post_raw(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST exactly these bytes and headers (a replay sends what was captured, unchanged)."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as response,
    ):
        return response.status, await response.text()


# -- replays -----------------------------------------------------------------------------------


async def test_a_replayed_slack_click_acts_once_and_says_it_was_already_done(
    tmp_path: Path,
) -> None:
    async with vigie_with_slack(tmp_path) as (service, slack):
        await card_posted(service, slack, "C1")
        await delivered(service)
        card = cards(slack, "C1")[0]
        body = block_action_body(
            "vigie_ack", "1", "UOK1", "C1", card["ts"], slack.response_url("a")
        )
        captured = {
            "Content-Type": "application/x-www-form-urlencoded",
            **signed_headers(SECRET, body),
        }  # an attacker who saw one request replays it, byte for byte, while still fresh
        for _ in range(3):
            assert (await post_raw(events_url(service), body.encode(), captured))[0] == 200
        await wait_for(lambda: len(slack.responses) == 2)
        await delivered(service)
    assert all("already acknowledged by <@UOK1>" in r["text"] for r in slack.responses)
    assert all(r["response_type"] == "ephemeral" for r in slack.responses)
    acks = rows(
        service.config.storage.path, "SELECT actor FROM audit WHERE action = ?", "acknowledged"
    )
    assert acks == [("UOK1",)]


async def replay_webhook_concurrently(tmp_path: Path, times: int) -> list[tuple[int, Any]]:
    """One signed batch of five mentions, then the identical request ``times`` times at once."""
    config = write_config(tmp_path, [{"type": "webhook", "name": "in", "secret": WEBHOOK_SECRET}])
    body = json.dumps([mention_record(n) for n in range(1, 6)]).encode()
    timestamp = str(int(time.time()))
    captured = {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(WEBHOOK_SECRET, timestamp, body),
        "Content-Type": "application/json",
    }
    async with running_service(config) as service:
        url = f"http://127.0.0.1:{service.http_port}/webhooks/in"
        answers = await asyncio.gather(*(post_raw(url, body, captured) for _ in range(times)))
    return [(status, json.loads(text)) for status, text in answers]


async def test_a_replayed_webhook_request_is_stored_once_even_when_sent_concurrently(
    tmp_path: Path,
) -> None:
    answers = await replay_webhook_concurrently(tmp_path, 6)
    assert [status for status, _ in answers] == [200] * 6
    ids = rows(tmp_path / "vigie.db", "SELECT native_id FROM mentions ORDER BY native_id")
    assert ids == [(f"m-{n}",) for n in range(1, 6)]


async def test_concurrent_replays_of_a_webhook_request_report_the_duplicates(
    tmp_path: Path,
) -> None:
    answers = await replay_webhook_concurrently(tmp_path, 6)
    assert sum(answer["stored"] for _, answer in answers) == 5
    assert sum(answer["duplicates"] for _, answer in answers) == 25


# -- drafts: one brand's approver, another brand's drafts ---------------------------------------


async def test_an_approver_of_one_brand_cannot_decide_another_brands_drafts(
    tmp_path: Path,
) -> None:
    records = storm("Osprey Air cancelled my flight again, stuck at the gate for hours")
    async with vigie_with_drafts(tmp_path, records) as (service, slack, config):
        await wait_for(lambda: bool(drafts_messages(slack)), timeout=30)
        message = drafts_messages(slack)[0]
        value = buttons(message, APPROVE)[0]
        draft_id, version, _install = value.split(":")

        async def click(action: str, user: str, value: str = value) -> None:
            body = block_action_body(
                action, value, user, "C1", message["ts"], slack.response_url(uuid.uuid4().hex)
            )
            assert (await post_signed(events_url(service), body, SECRET))[0] == 200

        for action in (APPROVE, EDIT, REJECT):
            await click(action, ANA)
        await wait_for(lambda: len(slack.responses) == 3)
        assert all("Only Osprey Air's approvers" in r["text"] for r in slack.responses)
        assert not slack.calls_to("views.open")  # no edit or reject modal for her
        # a modal submitted for that draft anyway (say, opened before approvers changed)
        view = {
            "id": "V1",
            "type": "modal",
            "callback_id": EDIT_VIEW,
            "private_metadata": f"{draft_id}:{version}:C1",
            "hash": "h",
        }
        submitted = view_submission_body(
            view, {TEXT_BLOCK: {TEXT_INPUT: "We are giving everyone a full refund."}}, ANA
        )
        assert (await post_signed(events_url(service), submitted, SECRET))[0] == 200
        ephemeral = await slack.wait_for("chat.postEphemeral")
        assert "approvers can decide on reply drafts" in ephemeral[-1].body["text"]

        await click(APPROVE, BOB)  # Osprey Air's own approver can
        await wait_for(lambda: "Approved by" in shown(slack, message), timeout=10)
        assert "full refund" not in shown(slack, message)  # her edit never landed
    log = rows(config.parent / "vigie.db", DECISIONS, draft_id)
    texts = rows(
        config.parent / "vigie.db",
        "SELECT action, text FROM decisions WHERE draft_id = ? AND action IN (?, ?) ORDER BY id",
        draft_id,
        "proposed",
        "approved",
    )
    assert [action for action, _ in texts] == ["proposed", "approved"]
    assert texts[0][1] == texts[1][1]  # approved as proposed
    actions = [(actor, action) for actor, action in log]
    assert (ANA, "refused approve") in actions
    assert (ANA, "refused edit") in actions
    assert (BOB, "approved") in actions
    assert not any(action == "edited" for _, action in actions)


async def test_a_button_payload_replayed_after_the_draft_was_decided_changes_nothing(
    tmp_path: Path,
) -> None:
    records = storm("Osprey Air cancelled my flight again, stuck at the gate for hours")
    async with vigie_with_drafts(tmp_path, records) as (service, slack, config):
        await wait_for(lambda: bool(drafts_messages(slack)), timeout=30)
        message = drafts_messages(slack)[0]
        approve, reject = buttons(message, APPROVE)[0], buttons(message, REJECT)[0]
        body = block_action_body(
            APPROVE, approve, BOB, "C1", message["ts"], slack.response_url("approve")
        )
        captured = {
            "Content-Type": "application/x-www-form-urlencoded",
            **signed_headers(SECRET, body),
        }
        assert (await post_raw(events_url(service), body.encode(), captured))[0] == 200
        await wait_for(lambda: "Approved by" in shown(slack, message), timeout=10)
        decided = shown(slack, message)
        assert (await post_raw(events_url(service), body.encode(), captured))[0] == 200
        await wait_for(lambda: bool(slack.responses))
        assert "Already approved by" in slack.responses[0]["text"]
        assert slack.responses[0]["response_type"] == "ephemeral"
        # a reject modal for that draft, submitted after the approval
        view = {
            "id": "V1",
            "type": "modal",
            "callback_id": REJECT_VIEW,
            "private_metadata": ":".join([*reject.split(":")[:2], "C1"]),  # id:version:channel
            "hash": "h",
        }
        submitted = view_submission_body(view, {REASON_BLOCK: {REASON_INPUT: "too late"}}, BOB)
        assert (await post_signed(events_url(service), submitted, SECRET))[0] == 200
        ephemeral = await slack.wait_for("chat.postEphemeral")
        assert "Already approved by" in ephemeral[-1].body["text"]
    assert shown(slack, message) == decided  # the service has stopped: nothing on its way
    draft_id = approve.split(":")[0]
    log = rows(config.parent / "vigie.db", DECISIONS, draft_id)
    assert [actor for actor, action in log if action == "approved"] == [BOB]
    assert not any(action == "rejected" for _, action in log)


# -- a post anyone can write ---------------------------------------------------------------------


async def test_a_bluesky_post_with_an_impossible_date_does_not_stop_the_source(
    tmp_path: Path,
) -> None:
    async with FakeBluesky() as bsky:
        source = {
            "type": "bluesky",
            "name": "bsky",
            "jetstream_url": bsky.jetstream_url,
            "appview_url": bsky.xrpc_url,
            "profiles": False,
            "batch_seconds": 0.05,
        }
        config = write_config(tmp_path, [source])
        async with running_service(config) as service:
            await wait_for(lambda: bool(bsky.open_connections))
            start = int(time.time() * 1_000_000)
            bsky.publish(
                post_event(
                    "did:plc:troll",
                    "3kbad",
                    "Kestrel Mobile",
                    start,
                    created_at="9999-12-31T23:59:59-01:00",
                ),
                post_event("did:plc:ana", "3kgood", "Kestrel Mobile has no signal", start + 1),
            )
            state = service.sources["bsky"]
            await wait_for(
                lambda: state.state == "failed" or bool(rows(tmp_path / "vigie.db", STORED)),
                timeout=10,
            )
            assert state.state == "running", state.error
        stored = rows(tmp_path / "vigie.db", STORED)
    assert ("at://did:plc:ana/app.bsky.feed.post/3kgood",) in stored


STORED = "SELECT native_id FROM mentions WHERE source = 'bsky'"


# -- slash commands: SQL metacharacters are text ------------------------------------------------


async def test_sql_metacharacters_in_slash_commands_are_only_text(tmp_path: Path) -> None:
    commands = {
        "mentions '; DROP TABLE mentions; --": "Cannot read that",
        'mentions "\'; DROP TABLE mentions; --"': "no brand",
        'stats "Robert\'); DROP TABLE incidents;--"': "no brand",
        "mentions %": "no brand '%'",
        "mentions _ --negative": "no brand '_'",
        "mentions kestrel-mobile --since \"1' OR '1'='1\"": "neither a duration",
        'incident "1 OR 1=1"': "which incident",
        'incidents "all\' --"': "say `open` or `all`",
        "silence \"author:@x' OR '1'='1\" 1h": "silenced author",
        'mentions "Kestrel Mobile" --since 30d': "Mentions since",
    }
    async with vigie_with_slack(tmp_path) as (service, slack):
        await card_posted(service, slack, "C1")
        await delivered(service)
        path = service.config.storage.path
        tables = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        before = (rows(path, tables), rows(path, "SELECT COUNT(*) FROM mentions"))
        for number, text in enumerate(commands):
            body = slash_command_body("/vigie", text, "UOK1", "C1", slack.response_url(str(number)))
            assert (await post_signed(events_url(service), body, SECRET))[0] == 200
            await wait_for(lambda n=number: len(slack.responses) > n)
        answers = [r["text"] for r in slack.responses]
    for (text, expected), answer in zip(commands.items(), answers, strict=True):
        assert expected in answer, (text, answer)
    assert "Sorry" not in " ".join(answers)
    assert (rows(path, tables), rows(path, "SELECT COUNT(*) FROM mentions")) == before
    assert rows(path, "PRAGMA integrity_check") == [("ok",)]
    silenced = [json.loads(data)["author"] for (data,) in rows(path, "SELECT data FROM silences")]
    assert silenced == ["x' OR '1'='1"]


# -- Slack markup in what people post -----------------------------------------------------------


def live_markup(text: str) -> list[str]:
    """The pieces of HOSTILE that would be live Slack markup in ``text``."""
    return [
        p for p in ("<!channel>", "<!here>", "<@U123>", "<https://evil.example|click>") if p in text
    ]


async def test_markup_in_a_mention_is_inert_in_the_card_the_drafts_and_answers(
    tmp_path: Path,
) -> None:
    text = f"Osprey Air cancelled my flight again, stuck for hours {HOSTILE}"
    records = storm(text, author="<!here>", author_name="<@U999>")
    async with vigie_with_drafts(tmp_path, records) as (service, slack, _):
        await wait_for(lambda: bool(drafts_messages(slack)), timeout=30)
        await delivered(service)
        body = slash_command_body(
            "/vigie", "mentions --since 30d", ANA, "C1", slack.response_url("m")
        )
        await post_signed(events_url(service), body, SECRET)
        await wait_for(lambda: bool(slack.responses))
        sent = [
            json.dumps({"text": c.body.get("text"), "blocks": c.body.get("blocks")})
            for c in slack.calls_to("chat.postMessage") + slack.calls_to("chat.update")
        ]
        card = json.dumps(cards(slack, "C1")[0]["blocks"])
        drafts = json.dumps(drafts_messages(slack)[0]["blocks"])
        answer = slack.responses[0]["text"]
    assert not [live_markup(message) for message in sent if live_markup(message)]
    assert not live_markup(answer)
    for where in (card, drafts, answer):
        assert "&lt;!channel&gt;" in where
        assert "&lt;https://evil.example|click&gt;" in where


async def test_emphasis_in_a_mention_stays_literal_in_the_card(tmp_path: Path) -> None:
    records = storm("Osprey Air cancelled my flight again, stuck for hours *bold*")
    async with vigie_with_drafts(tmp_path, records) as (_, slack, _):
        # the drafts follow in the card's thread, maybe before the next look: at least one
        await wait_for(lambda: len(cards(slack, "C1")) >= 1, timeout=30)
        card = cards(slack, "C1")[0]
    mrkdwn = [
        json.dumps(node)
        for block in card["blocks"]
        for node in [block.get("text") or {}, *block.get("fields", [])]
        if isinstance(node, dict) and node.get("type") == "mrkdwn"
    ]
    assert not any("*bold*" in text for text in mrkdwn)


# -- sizes and malformed requests, before any credential is checked -----------------------------


async def _send_head_and_part(port: int, path: str, content_type: str) -> bytes:
    """Announce 64 MiB, send 2 MiB, then wait for an answer: one before the rest is sent proves
    the server refused without reading the whole body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {64 * 1024 * 1024}\r\n\r\n"
    ).encode()

    async def send() -> None:
        writer.write(head)
        for _ in range(32):
            writer.write(b"x" * 65536)
            await writer.drain()

    sending = asyncio.create_task(send())
    try:
        status_line = await asyncio.wait_for(reader.readline(), 10)
    finally:
        sending.cancel()
        with suppress(asyncio.CancelledError, ConnectionError):
            await sending
        writer.close()
        with suppress(ConnectionError):
            await writer.wait_closed()
    return status_line


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/webhooks/in", "application/json"),
        ("/slack/events", "application/x-www-form-urlencoded"),
        ("/api/messages", "application/json"),
    ],
)
async def test_an_oversized_body_is_refused_413_before_it_is_read(
    tmp_path: Path, path: str, content_type: str
) -> None:
    config = write_config(
        tmp_path,
        [{"type": "webhook", "name": "in", "secret": WEBHOOK_SECRET}],
        platforms={
            "slack": {
                "bot_token": "xoxb-test",
                "signing_secret": SECRET,
                "api_url": "http://127.0.0.1:9/api/",
            },
            "teams": {"app_id": APP_ID, "app_password": "app-password"},
        },
    )
    async with running_service(config) as service:
        assert service.http_port is not None
        status_line = await _send_head_and_part(service.http_port, path, content_type)
    assert status_line.startswith(b"HTTP/1.1 413"), status_line


async def test_a_small_webhook_limit_does_not_cap_the_chat_platforms(tmp_path: Path) -> None:
    """Each webhook streams its body against its own limit; a Slack click carrying a large
    drafts message is still read whole."""
    config = write_config(
        tmp_path,
        [{"type": "webhook", "name": "in", "secret": WEBHOOK_SECRET, "max_body_bytes": 2048}],
        platforms={
            "slack": {
                "bot_token": "xoxb-test",
                "signing_secret": SECRET,
                "api_url": "http://127.0.0.1:9/api/",
            }
        },
    )
    challenge = "c" * 50_000
    body = json.dumps({"type": "url_verification", "token": "t", "challenge": challenge})
    async with running_service(config) as service:
        url = f"http://127.0.0.1:{service.http_port}/slack/events"
        status, text = await post_signed(url, body, SECRET, content_type="application/json")
    assert status == 200
    assert challenge in text


async def test_a_malformed_unauthenticated_request_gets_a_4xx_never_a_500(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        [{"type": "webhook", "name": "in", "secret": WEBHOOK_SECRET}],
        platforms={
            "slack": {
                "bot_token": "xoxb-test",
                "signing_secret": SECRET,
                "api_url": "http://127.0.0.1:9/api/",
            },
            "teams": {"app_id": APP_ID, "app_password": "app-password"},
        },
    )
    now = str(int(time.time())).encode()
    requests = {
        "webhook, non-ASCII signature": (
            "/webhooks/in",
            b"application/json",
            b"X-Vigie-Timestamp: " + now + b"\r\nX-Vigie-Signature: sha256=\xc3\xa9\r\n",
            b"[]",
        ),
        "slack, non-ASCII signature": (
            "/slack/events",
            b"application/x-www-form-urlencoded",
            b"X-Slack-Request-Timestamp: " + now + b"\r\nX-Slack-Signature: v0=\xc3\xa9\r\n",
            b"command=%2Fvigie&text=help",
        ),
        "slack, unsigned bad payload": (
            "/slack/events",
            b"application/x-www-form-urlencoded",
            b"",
            b"payload=%7B",
        ),
        "teams, not JSON, no token": ("/api/messages", b"application/json", b"", b"not json"),
        "teams, a JSON list, no token": ("/api/messages", b"application/json", b"", b"[]"),
    }
    async with running_service(config) as service:
        assert service.http_port is not None
        statuses = {
            name: await _raw_status(service.http_port, *request)
            for name, request in requests.items()
        }
    assert not {name: s for name, s in statuses.items() if s >= 500}, statuses


async def _raw_status(
    port: int, path: str, content_type: bytes, headers: bytes, body: bytes
) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".encode()
        + b"Content-Type: "
        + content_type
        + b"\r\n"
        + headers
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    return int(status_line.split()[1])


# -- what a post may hold: terminal escapes, forged log lines -------------------------------------

SEND_PY = "kestrel is down, terrible outage \x1b]0;PWNED-TITLE\x07\x1b[2J\x1b[H fake: all fine"
FORGED = "m-1\n2026-03-10 09:00:00,000 ERROR bot.app: all systems normal"


async def test_escape_sequences_in_a_post_reach_neither_the_terminal_nor_storage(
    tmp_path: Path,
) -> None:
    """The review's send.py: a post retitled the operator's terminal, cleared it and wrote a
    line of its own; its author hid text and its link turned the rest red."""
    config = write_config(
        tmp_path,
        [{"type": "webhook", "name": "in", "secret": WEBHOOK_SECRET}],
        console={"show": "all"},
    )
    record = mention_record(
        1, SEND_PY, author="ev\x1b[8mhidden", url="https://x.example/\x1b[31mred"
    )
    body = json.dumps([record]).encode()
    timestamp = str(int(time.time()))
    headers = {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(WEBHOOK_SECRET, timestamp, body),
        "Content-Type": "application/json",
    }
    async with running_service(config) as service:
        url = f"http://127.0.0.1:{service.http_port}/webhooks/in"
        assert (await post_raw(url, body, headers))[0] == 200
        file = service.console.console.file  # printed by the console's own thread, shortly
        await wait_for(lambda: "fake: all fine" in file.getvalue(), timeout=30)
        printed = file.getvalue()
    assert "terrible outage ]0;PWNED-TITLE[2J[H fake: all fine" in printed
    assert "@ev[8mhidden" in printed
    assert not {"\x1b", "\x07", "\ufffd"} & set(printed)  # removed on intake, not marked
    [stored] = rows(tmp_path / "vigie.db", "SELECT text, author_handle, url FROM mentions")
    assert stored == (
        "kestrel is down, terrible outage ]0;PWNED-TITLE[2J[H fake: all fine",
        "ev[8mhidden",
        "https://x.example/[31mred",
    )


class FailingScorer:
    """A pipeline that fails on every mention (as a bug met on strange text would)."""

    parallelism = 1

    async def score(self, mentions: Sequence[Mention], now: datetime) -> list[Outcome]:
        return [Failure("ValueError: cannot read this", mention.key) for mention in mentions]

    def close(self) -> None:
        pass


def refusing_store(
    db: sqlite_utils.Database, scored: list[ScoredMention], positions: dict[str, str]
) -> Stored:
    if scored:
        raise ValueError("this mention cannot be stored")
    return Stored(save_batch(db, scored, positions))


@pytest.mark.parametrize(
    ("scorer", "logged"),
    [
        pytest.param("failing", "pipeline failed on 'hook'/", id="pipeline"),
        pytest.param("inline", "cannot be stored", id="storage"),
    ],
)
async def test_an_id_with_a_line_break_cannot_forge_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, scorer: str, logged: str
) -> None:
    """Ids come from whoever sends a mention: logged with %r, a line break stays ``\\n``."""
    writer = Writer(tmp_path / "vigie.db")
    brands = [Brand("Kestrel Mobile", "kestrel-mobile")]
    intake = Intake(
        FailingScorer() if scorer == "failing" else InlineScorer(brands),
        writer,
        Metrics(),
        capacity=10,
        batch_size=10,
        now=lambda: datetime.now(UTC),
        store=refusing_store,
    )
    running = asyncio.create_task(intake.run())
    done: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
    mention = Mention("hook", FORGED, "Kestrel Mobile down again", datetime.now(UTC))
    await intake.submit(Envelope("hook", (mention,), None, done))
    await asyncio.wait_for(done, 10)
    intake.close()
    await asyncio.wait_for(running, 10)
    writer.close()
    [line] = [r.getMessage() for r in caplog.records if logged in r.getMessage()]
    assert "\n" not in line
    assert repr(FORGED) in line


async def test_a_slash_command_cannot_forge_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with vigie_with_slack(tmp_path) as (service, slack):
        with (
            a_broken_incident(service),
            caplog.at_level(logging.ERROR, logger="handlers.slack.inbound"),
        ):
            # a line break between the words (words after the id are refused before anything
            # is read, so a forged line cannot follow it to the failure's log line)
            text = f"incident\n{BROKEN}"
            body = slash_command_body("/vigie", text, ANA, "C1", slack.response_url("x"))
            assert (await post_signed(events_url(service), body, SECRET))[0] == 200
            await wait_for(lambda: bool(slack.responses))
    [line] = [
        r.getMessage()
        for r in caplog.records
        if r.name == "handlers.slack.inbound" and "failed" in r.getMessage()
    ]  # (not the intake's retry of a locked database, which the broken incident may cause)
    assert "\n" not in line
    assert repr(text) in line


# -- secrets never logged ------------------------------------------------------------------------


def _secrets() -> dict[str, str]:
    """One distinctive value per secret (the random part is what is looked for in the logs)."""
    return {
        "SLACK_BOT_TOKEN": f"xoxb-{uuid.uuid4().hex}",
        "SLACK_SIGNING_SECRET": uuid.uuid4().hex,
        "VIGIE_WEBHOOK_SECRET": uuid.uuid4().hex,
        "TEAMS_APP_PASSWORD": uuid.uuid4().hex,
        "MASTODON_TOKEN": uuid.uuid4().hex,
        "LLM_API_KEY": f"sk-{uuid.uuid4().hex}",
    }


def _leaks(output: str, secrets: dict[str, str]) -> list[str]:
    """Secrets found in ``output``, whole or as their random 32-character part, even when a line
    was wrapped."""
    flat = "".join(output.split())
    return [
        name
        for name, value in secrets.items()
        if value in output or value[-32:] in flat or value[-32:-16] in flat
    ]


def _secret_config(folder: Path, slack_api: str, masto: str, llm: str, openid: str) -> Path:
    return write_config(
        folder,
        [
            {"type": "webhook", "name": "in", "secret": "${VIGIE_WEBHOOK_SECRET}"},
            {
                "type": "mastodon",
                "name": "masto",
                "base_url": masto,
                "access_token": "${MASTODON_TOKEN}",
                "hashtags": ["kestreldown"],
                "search": [],
                "backfill": "0s",
            },
        ],
        clock="event",
        logging={"level": "DEBUG"},
        incidents=DRAFTS_POLICY,
        platforms={
            "slack": {
                "bot_token": "${SLACK_BOT_TOKEN}",
                "signing_secret": "${SLACK_SIGNING_SECRET}",
                "api_url": slack_api,
                "approvers": {"kestrel-mobile": [ANA]},
            },
            "teams": {
                "app_id": APP_ID,
                "app_password": "${TEAMS_APP_PASSWORD}",
                "openid_metadata_url": openid,
            },
        },
        replies={"generator": {"url": llm, "model": "fake", "api_key": "${LLM_API_KEY}"}},
        delivery={"pace_seconds": 0},
    )


async def _read_until_listening(stream: asyncio.StreamReader, seen: list[str]) -> int:
    while True:
        line = (await stream.readline()).decode(errors="replace")
        if not line:
            raise AssertionError("vigie exited before listening:\n" + "".join(seen))
        seen.append(line)
        if "listening on http://" in line:
            return int(line.split("listening on http://", 1)[1].split()[0].rsplit(":", 1)[1])


async def test_no_secret_reaches_the_logs_even_at_debug(tmp_path: Path) -> None:
    secrets = _secrets()
    env = {**os.environ, **secrets, "COLUMNS": "400", "PYTHONUNBUFFERED": "1"}
    token = secrets["MASTODON_TOKEN"]
    with OpenIdServer() as openid:
        async with (
            FakeSlack(bot_token=secrets["SLACK_BOT_TOKEN"]) as slack,
            FakeMastodon(token=token) as masto,
            FakeLanguageModel(replies=["We are on it; sorry for the wait."]) as llm,
            FakeConnector() as teams,
        ):
            config = _secret_config(
                tmp_path, slack.api_url, masto.url, llm.url, openid.metadata_url
            )
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                "-c",
                str(config),
                cwd=ROOT,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            assert process.stdout is not None
            assert process.stderr is not None
            err: list[str] = []
            try:
                port = await asyncio.wait_for(_read_until_listening(process.stderr, err), 60)
                collecting = asyncio.create_task(process.stderr.read())
                base = f"http://127.0.0.1:{port}"
                await masto.wait_for_streams(1, timeout=20)  # the token was used
                now = datetime.now(UTC)
                records = [
                    mention_record(
                        n,
                        f"Kestrel Mobile down again, no signal since this morning #{n}",
                        created_at=(now - timedelta(minutes=40 - 2 * n)).isoformat(),
                        followers=1000 if n == 5 else 10 + n,
                    )
                    for n in range(16)
                ]
                body = json.dumps(records).encode()
                stamp = str(int(time.time()))
                signature = sign(secrets["VIGIE_WEBHOOK_SECRET"], stamp, body)
                headers = {
                    TIMESTAMP_HEADER: stamp,
                    SIGNATURE_HEADER: signature,
                    "Content-Type": "application/json",
                }
                assert (await post_raw(f"{base}/webhooks/in", body, headers))[0] == 200
                wrong = {**headers, SIGNATURE_HEADER: "sha256=" + "0" * 64}
                assert (await post_raw(f"{base}/webhooks/in", body, wrong))[0] == 401
                await wait_for(lambda: bool(drafts_messages(slack)), timeout=40)
                await wait_for(lambda: bool(llm.requests), timeout=20)
                assert (
                    llm.requests[0].headers["Authorization"] == f"Bearer {secrets['LLM_API_KEY']}"
                )
                command = slash_command_body("/vigie", "help", ANA, "C1", slack.response_url("h"))
                signing = secrets["SLACK_SIGNING_SECRET"]
                assert (await post_signed(f"{base}/slack/events", command, signing))[0] == 200
                assert (await post_signed(f"{base}/slack/events", command, "forged"))[0] == 401
                await wait_for(lambda: bool(slack.responses), timeout=10)
                activity = bot_added_activity(teams.url)
                good = sign_token(openid.key, openid.kid, app_id=APP_ID, service_url=teams.url)
                assert (await post_activity(f"{base}/api/messages", activity, bearer(good)))[0] in (
                    200,
                    201,
                )
                for bad in bad_tokens(openid, app_id=APP_ID, service_url=teams.url).values():
                    assert (await post_activity(f"{base}/api/messages", activity, bearer(bad)))[
                        0
                    ] == 401
            finally:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
                out = (await asyncio.wait_for(process.stdout.read(), 60)).decode(errors="replace")
                await asyncio.wait_for(process.wait(), 60)
            rest = (await collecting).decode(errors="replace")
    logs = "".join(err) + rest + out
    assert process.returncode == 0, logs[-3000:]
    assert "DEBUG" in logs  # the debug log was on, so it had every chance to leak
    assert "slack_sdk" in logs or "slack_bolt" in logs  # the SDKs' own debug lines too
    assert not _leaks(logs, secrets), _leaks(logs, secrets)


def _check_config(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "check-config", "-c", str(config)],
        cwd=ROOT,
        env={**os.environ, **env, "COLUMNS": "400"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_config_never_prints_a_secret_even_when_it_is_misplaced(tmp_path: Path) -> None:
    secrets = _secrets()
    nowhere = "http://127.0.0.1:9"
    good = _secret_config(tmp_path, f"{nowhere}/api/", nowhere, f"{nowhere}/v1", f"{nowhere}/o")
    result = _check_config(good, secrets)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout
    assert not _leaks(result.stdout + result.stderr, secrets)

    misplaced = tmp_path / "misplaced"
    misplaced.mkdir()
    bad = write_config(
        misplaced,
        [
            {
                "type": "webhook",
                "name": "in",
                "secret": "${VIGIE_WEBHOOK_SECRET}",
                "max_skew_seconds": "${SLACK_SIGNING_SECRET}",  # a secret where a number goes
            }
        ],
        logging={"level": "${LLM_API_KEY}"},  # ... where a choice goes
        platforms={
            "slack": {
                "bot_token": "${SLACK_BOT_TOKEN}",
                "api_url": "${TEAMS_APP_PASSWORD}",  # ... where a URL goes
                "bot_secret": "${MASTODON_TOKEN}",  # ... under a misspelt key
            }
        },
    )
    result = _check_config(bad, secrets)
    assert result.returncode == 2
    assert "problems" in result.stderr
    assert not _leaks(result.stdout + result.stderr, secrets), result.stderr
