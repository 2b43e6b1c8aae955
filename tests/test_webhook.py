"""The webhook source over real HTTP on 127.0.0.1: signatures, bad input, atomic batches."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import ConfigError, load_config
from bot.sources.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from storage.database import open_database
from storage.mentions import find_mentions
from tests.conftest import WEBHOOK_SECRET, mention_record, running_service, write_config

WEBHOOK = {"type": "webhook", "name": "inbound", "secret": WEBHOOK_SECRET}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, [WEBHOOK])


def signed(body: bytes, *, secret: str = WEBHOOK_SECRET, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    return {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        "Content-Type": "application/json",
    }


async def post(port: int, body: bytes, headers: dict[str, str], name: str = "inbound") -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"http://127.0.0.1:{port}/webhooks/{name}", data=body, headers=headers) as r,
    ):
        return r.status, await r.json()


def stored(config: Path) -> list[dict[str, Any]]:
    db = open_database(config.parent / "vigie.db", read_only=True)
    try:
        return find_mentions(db)
    finally:
        db.close()


async def test_a_signed_batch_is_stored_before_the_answer(config: Path) -> None:
    records = [mention_record(1), mention_record(2), mention_record(3, text="lovely weather")]
    body = json.dumps(records).encode()
    async with running_service(config) as service:
        status, answer = await post(service.http_port, body, signed(body))
    assert status == 200
    assert answer == {
        "accepted": 3,
        "matched": 2,
        "stored": 2,
        "duplicates": 0,
        "failed": 0,
        "unfiled": 0,
        "unscored": 0,
    }
    assert {row["native_id"] for row in stored(config)} == {"m-1", "m-2"}


async def test_a_single_object_and_a_mentions_envelope_are_accepted(config: Path) -> None:
    one = json.dumps(mention_record(1)).encode()
    wrapped = json.dumps({"mentions": [mention_record(2)]}).encode()
    async with running_service(config) as service:
        assert (await post(service.http_port, one, signed(one)))[0] == 200
        assert (await post(service.http_port, wrapped, signed(wrapped)))[0] == 200
    assert len(stored(config)) == 2


async def test_a_repeated_delivery_is_stored_once(config: Path) -> None:
    body = json.dumps([mention_record(1)]).encode()
    async with running_service(config) as service:
        await post(service.http_port, body, signed(body))
        status, answer = await post(service.http_port, body, signed(body))
    assert status == 200
    assert answer["duplicates"] == 1
    assert len(stored(config)) == 1


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing X-Vigie-Timestamp"),
        ({TIMESTAMP_HEADER: "123"}, "missing X-Vigie-Signature"),
        ("wrong-secret", "signature does not match"),
        ("stale", "stale request"),
        ("future", "stale request"),
        ("tampered", "signature does not match"),
    ],
)
async def test_forged_or_stale_requests_are_refused(
    config: Path, headers: Any, message: str
) -> None:
    body = json.dumps([mention_record(1)]).encode()
    if headers == "wrong-secret":
        headers = signed(body, secret="another-secret-0123456789")
    elif headers == "stale":
        headers = signed(body, at=time.time() - 3600)
    elif headers == "future":  # signed now for later: a captured request would stay replayable
        headers = signed(body, at=time.time() + 3600)
    elif headers == "tampered":
        headers = signed(body)
        body = body.replace(b"outage", b"outrage")
    async with running_service(config) as service:
        status, answer = await post(service.http_port, body, headers)
    assert status == 401
    assert message in answer["error"]
    assert stored(config) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"id": "1", "text": ', "invalid JSON at line 1 column"),
        (b"[]", "no mentions"),
        (b'[{"id": "1"}]', "mentions[0]: 'text' is missing"),
        (b'[{"id": "1", "text": "kestrel", "followers": "many"}]', "'followers'"),
        (b'"just a string"', "expected an object"),
    ],
)
async def test_malformed_bodies_get_400_saying_what_is_wrong(
    config: Path, body: bytes, message: str
) -> None:
    async with running_service(config) as service:
        status, answer = await post(service.http_port, body, signed(body))
    assert status == 400
    assert message in answer["error"]


async def test_one_bad_mention_stores_nothing_of_its_batch(config: Path) -> None:
    records: list[dict[str, Any]] = [mention_record(1), mention_record(2), {"id": "x"}]
    body = json.dumps(records).encode()
    async with running_service(config) as service:
        status, answer = await post(service.http_port, body, signed(body))
    assert status == 400
    assert "mentions[2]" in answer["error"]
    assert stored(config) == []


async def test_unknown_webhook_is_404(config: Path) -> None:
    body = b"[]"
    async with running_service(config) as service:
        status, answer = await post(service.http_port, body, signed(body), name="nope")
    assert status == 404
    assert "nope" in answer["error"]


async def test_too_large_a_body_is_413(tmp_path: Path) -> None:
    config = write_config(tmp_path, [{**WEBHOOK, "max_body_bytes": 2048, "max_batch": 5}])
    big = json.dumps([mention_record(1, text="kestrel " * 400)]).encode()
    many = json.dumps([mention_record(n) for n in range(6)]).encode()
    async with running_service(config) as service:
        assert (await post(service.http_port, big, signed(big)))[0] == 413
        status, answer = await post(service.http_port, many, signed(many))
    assert status == 413
    assert "limit is 5" in answer["error"]


async def test_a_body_arriving_in_slow_pieces_is_read_whole(config: Path) -> None:
    """A large batch sent chunked, a piece at a time: the signature covers all of it."""
    records = [mention_record(n, text="Kestrel Mobile down " + "x" * 2000) for n in range(40)]
    body = json.dumps(records).encode()
    pieces = [body[i : i + 4096] for i in range(0, len(body), 4096)]

    async def slowly() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece
            await asyncio.sleep(0.005)

    async with running_service(config) as service:
        status, answer = await post(service.http_port, slowly(), signed(body))  # type: ignore[arg-type]
    assert len(pieces) > 10
    assert (status, answer["stored"]) == (200, 40)
    assert len(stored(config)) == 40


async def test_what_json_allows_and_sqlite_does_not_is_stored_anyway(config: Path) -> None:
    """A 100-bit integer in the payload and half an emoji (a lone surrogate) in the text once
    stopped the whole service; both are stored now, and the service goes on."""
    records = [
        mention_record(1, ticket=123456789012345678901234567890),
        mention_record(2, text="Kestrel Mobile outage again \ud83d", language="en"),
        mention_record(3, author="\udc00x"),
    ]
    body = json.dumps(records).encode()
    later = json.dumps([mention_record(4)]).encode()
    async with running_service(config) as service:
        status, answer = await post(service.http_port, body, signed(body))
        assert (status, answer["stored"]) == (200, 3)
        assert (await post(service.http_port, later, signed(later)))[0] == 200
    rows = {row["native_id"]: row for row in stored(config)}
    assert set(rows) == {"m-1", "m-2", "m-3", "m-4"}
    assert rows["m-2"]["text"] == "Kestrel Mobile outage again \ufffd"
    assert rows["m-3"]["author_handle"] == "\ufffdx"


async def test_health_and_metrics_report_the_traffic(config: Path) -> None:
    body = json.dumps([mention_record(1)]).encode()
    async with running_service(config) as service:
        await post(service.http_port, body, signed(body))
        async with aiohttp.ClientSession() as session:
            base = f"http://127.0.0.1:{service.http_port}"
            async with session.get(f"{base}/healthz") as response:
                health = await response.json()
                assert response.status == 200
            async with session.get(f"{base}/metrics") as response:
                metrics = await response.text()
    assert health["status"] == "ok"
    assert health["sources"]["inbound"]["state"] == "running"
    assert 'vigie_mentions_received_total{source="inbound"} 1.0' in metrics
    assert "vigie_mentions_stored_total 1.0" in metrics
    assert 'vigie_webhook_requests_total{source="inbound",status="200"} 1.0' in metrics
    assert "vigie_store_latency_seconds_count" in metrics


async def status_before_the_whole_body(port: int, headers: dict[str, str]) -> bytes:
    """Announce a body of 1,000,000 bytes (under the limit), send 64 KiB of it, and read the
    status line: an answer before the rest is sent was given without reading the body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    writer.write(
        "POST /webhooks/inbound HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"{lines}Content-Length: 1000000\r\n\r\n".encode()
        + b"[" * 65536
    )
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.readline(), 5)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no headers"),
        pytest.param({TIMESTAMP_HEADER: str(int(time.time()))}, id="no signature"),
        pytest.param({SIGNATURE_HEADER: "sha256=00"}, id="no timestamp"),
        pytest.param(
            {TIMESTAMP_HEADER: str(int(time.time()) - 3600), SIGNATURE_HEADER: "sha256=00"},
            id="stale",
        ),
        pytest.param({TIMESTAMP_HEADER: "soon", SIGNATURE_HEADER: "sha256=00"}, id="not a time"),
    ],
)
async def test_a_request_that_cannot_be_signed_right_is_refused_before_its_body_is_read(
    config: Path, headers: dict[str, str]
) -> None:
    """Only the HMAC needs the body: anyone may otherwise make Vigie read a megabyte a
    request."""
    async with running_service(config) as service:
        assert service.http_port is not None
        status_line = await status_before_the_whole_body(service.http_port, headers)
    assert status_line.startswith(b"HTTP/1.1 401"), status_line


def test_max_skew_seconds_is_at_most_an_hour(tmp_path: Path) -> None:
    load_config(write_config(tmp_path, [{**WEBHOOK, "max_skew_seconds": 3600}]))
    with pytest.raises(ConfigError) as refused:
        load_config(write_config(tmp_path, [{**WEBHOOK, "max_skew_seconds": 86400}]))
    assert "sources[0].max_skew_seconds: at most 3600 (an hour)" in str(refused.value)
