"""Signed inbound mentions: ``POST /webhooks/{name}`` with one mention or a batch, as JSON.

The sender signs ``"{timestamp}." + raw body`` with HMAC-SHA256 and the shared secret:

    X-Vigie-Timestamp: 1767225600
    X-Vigie-Signature: sha256=<hex digest>

Stale or bad signatures get 401, malformed JSON or mentions 400 (saying what is wrong), a full queue
503 with ``Retry-After``. A request is answered 200 only once its mentions are stored; a batch is
taken whole or not at all.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.config import WebhookSourceSettings
from bot.intake import Envelope, Receipt
from bot.model import Mention
from bot.records import MalformedRecord, RecordMapper
from bot.sources.base import Inbox, not_in_future

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Vigie-Signature"
TIMESTAMP_HEADER = "X-Vigie-Timestamp"
STORE_TIMEOUT = 30.0


class Rejected(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value a sender must send."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def check_headers(headers: Any, now: float, max_skew: int) -> tuple[str, str]:
    """The timestamp and signature, both present and the timestamp fresh; what needs no body,
    so a request without them is refused before its body is read."""
    timestamp = headers.get(TIMESTAMP_HEADER)
    signature = headers.get(SIGNATURE_HEADER)
    if not timestamp or not signature:
        missing = TIMESTAMP_HEADER if not timestamp else SIGNATURE_HEADER
        raise Rejected(401, f"missing {missing} header")
    try:
        sent = int(timestamp)
    except ValueError:
        raise Rejected(401, f"{TIMESTAMP_HEADER} must be Unix seconds") from None
    if abs(now - sent) > max_skew:
        raise Rejected(
            401, f"stale request: timestamp is {int(now - sent)} s from now, limit {max_skew} s"
        )
    return timestamp, signature


def check_signature(secret: str, timestamp: str, signature: str, body: bytes) -> None:
    given = signature.encode("utf-8", "replace")  # a non-ASCII header is just wrong
    if not hmac.compare_digest(sign(secret, timestamp, body).encode(), given):
        raise Rejected(401, "signature does not match")


def verify(secret: str, headers: Any, body: bytes, now: float, max_skew: int) -> None:
    timestamp, signature = check_headers(headers, now, max_skew)
    check_signature(secret, timestamp, signature, body)


async def read_at_most(content: Any, limit: int) -> bytes:
    """The body, or its first ``limit`` bytes when it is longer. One ``read(n)`` returns what
    has arrived so far, which for a large body sent in several packets is only its start."""
    body = bytearray()
    while len(body) < limit:
        chunk = await content.read(limit - len(body))
        if not chunk:
            break
        body += chunk
    return bytes(body)


def parse_mentions(body: bytes, mapper: RecordMapper, max_batch: int) -> list[Mention]:
    """A JSON object, a list of them, or ``{"mentions": [...]}``; all valid or none."""
    try:
        data = json.loads(body)
    except UnicodeDecodeError:
        raise Rejected(400, "the body is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise Rejected(
            400, f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    except (ValueError, RecursionError) as error:  # a number of 5,000 digits, deep nesting
        raise Rejected(400, f"JSON this service does not read: {error}"[:300]) from None
    if isinstance(data, dict) and isinstance(data.get("mentions"), list):
        data = data["mentions"]
    items = data if isinstance(data, list) else [data]
    if not items:
        raise Rejected(400, "no mentions in the request")
    if len(items) > max_batch:
        raise Rejected(413, f"{len(items)} mentions in one request; the limit is {max_batch}")
    mentions = []
    for index, item in enumerate(items):
        try:
            mentions.append(mapper.mention(item))
        except MalformedRecord as error:
            where = f"mentions[{index}]" if isinstance(data, list) else "mention"
            raise Rejected(400, f"{where}: {error}") from None
    return mentions


def answer(receipt: Receipt) -> dict[str, int]:
    """The 200 answer: what became of each mention (see ``Receipt``). Only mentions stored
    before are ``duplicates``; ``failed`` ones were not stored (their data, logged),
    ``unscored`` ones were stored without a score, ``unfiled`` ones are stored but wait to be
    filed into incidents (retried by the service)."""
    return {
        "accepted": receipt.accepted,
        "matched": receipt.matched,
        "stored": receipt.stored,
        "duplicates": receipt.duplicates,
        "failed": receipt.failed,
        "unfiled": receipt.unfiled,
        "unscored": receipt.unscored,
    }


class WebhookSource:
    finite = False

    def __init__(
        self,
        settings: WebhookSourceSettings,
        now: Callable[[], Any],
        wall_time: Callable[[], float] = time.time,
        on_request: Callable[[str, int], None] = lambda source, status: None,
    ) -> None:
        self.name = settings.name
        self.settings = settings
        self.mapper = RecordMapper(settings.name, {}, now)
        self.now = now
        self.wall_time = wall_time
        self.on_request = on_request
        self._inbox: Inbox | None = None

    async def run(self, inbox: Inbox, position: str | None) -> None:
        self._inbox = inbox
        try:
            await asyncio.Event().wait()  # requests arrive through handle()
        finally:
            self._inbox = None

    async def handle(self, request: web.Request) -> web.Response:
        try:
            receipt = await self._accept(request)
        except Rejected as rejection:
            self.on_request(self.name, rejection.status)
            logger.info("webhook %s: %d %s", self.name, rejection.status, rejection.message)
            headers = {"Retry-After": "1"} if rejection.status == 503 else None
            return web.json_response(
                {"error": rejection.message}, status=rejection.status, headers=headers
            )
        self.on_request(self.name, 200)
        return web.json_response(answer(receipt))

    async def _accept(self, request: web.Request) -> Receipt:
        if request.content_length is not None and (
            request.content_length > self.settings.max_body_bytes
        ):
            raise Rejected(413, f"body larger than {self.settings.max_body_bytes} bytes")
        skew = self.settings.max_skew_seconds
        timestamp, signature = check_headers(request.headers, self.wall_time(), skew)
        body = await read_at_most(request.content, self.settings.max_body_bytes + 1)
        if len(body) > self.settings.max_body_bytes:
            raise Rejected(413, f"body larger than {self.settings.max_body_bytes} bytes")
        check_signature(self.settings.secret.get_secret_value(), timestamp, signature, body)
        mentions = parse_mentions(body, self.mapper, self.settings.max_batch)
        now = self.now()
        mentions = [not_in_future(mention, now) for mention in mentions]
        inbox = self._inbox
        if inbox is None:
            raise Rejected(503, "not accepting mentions yet (starting or stopping)")
        done: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        if not inbox.offer(Envelope(self.name, tuple(mentions), None, done)):
            raise Rejected(503, "too many mentions waiting; retry shortly")
        try:
            return await asyncio.wait_for(asyncio.shield(done), STORE_TIMEOUT)
        except (TimeoutError, RuntimeError):
            raise Rejected(503, "not stored in time; retry (duplicates are ignored)") from None
