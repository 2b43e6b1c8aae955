"""Incident notifications into Slack: post the card once, edit it in place, thread the rest.

Each message carries its idempotency key in Slack message metadata, so after a crash between
"sent to Slack" and "recorded as sent" ``find`` reads it back and nothing is posted twice.
"""

from __future__ import annotations

import copy
import logging
from datetime import timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackObjectFormationError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery import DeliveryError
from bot.drafts.cards import KIND as DRAFTS
from bot.incidents.model import Intent, IntentKind
from handlers.slack.render import (
    InvalidBlocks,
    card_blocks,
    check_blocks,
    cut,
    escape,
    mention_markup,
)
from handlers.slack.render_drafts import draft_blocks

logger = logging.getLogger(__name__)

EVENT_TYPE = "vigie_notification"
MESSAGE_TEXT = 3900  # Slack truncates message text past 40,000; keep thread lines readable
LOOK_BACK = 100  # messages asked for per page when looking an idempotency key up after a crash
LOOK_PAGES = 5  # pages of a thread read at most (Slack gives a thread oldest first)
POSTED_AFTER = timedelta(hours=2)
"""A message cannot have been posted long before its intent was decided: thread look-ups start
there (``oldest``), so a long thread's newest messages are on the first page. Two hours cover
an event clock up to an hour ahead of the wall (``bot.clock.MAX_AHEAD``)."""
RETRYABLE = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


def make_client(token: str, api_url: str) -> AsyncWebClient:
    """The Web API client for answers to people (ephemeral answers, modals, group look-ups):
    it honours a 429's Retry-After itself (Slack did nothing: safe to resend). A dropped
    connection or a 5xx may have posted the message, so those are not retried."""
    return AsyncWebClient(
        token=token,
        base_url=api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )


def delivery_client(client: AsyncWebClient) -> AsyncWebClient:
    """``client`` for deliveries: the same, but a 429 raises at once instead of waiting inside
    the call. The outbox waits the Retry-After for that channel only (``DeliveryError``), while
    the other channels' deliveries go on."""
    own = copy.copy(client)
    own.retry_handlers = [
        handler
        for handler in client.retry_handlers
        if not isinstance(handler, AsyncRateLimitErrorRetryHandler)
    ]
    return own


class SlackPlatform:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = delivery_client(client)

    async def deliver(self, intent: Intent, card_ref: str | None) -> str:
        try:
            return await self._deliver(intent, card_ref)
        except SlackApiError as error:
            raise _delivery_error(error) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise DeliveryError(f"Slack unreachable: {error}") from error

    async def find(self, intent: Intent, card_ref: str | None = None) -> str | None:
        try:
            return await self._find(intent, card_ref)
        except SlackApiError as error:
            if error.response.get("error") in ("channel_not_found", "thread_not_found"):
                return None
            raise _delivery_error(error) from error
        except (aiohttp.ClientError, TimeoutError) as error:  # cannot tell: asked again later
            raise DeliveryError(f"Slack unreachable: {error}") from error

    async def _deliver(self, intent: Intent, card_ref: str | None) -> str:
        channel, ts = _split(card_ref)
        if intent.part:
            return await self._deliver_part(intent, channel, ts)
        if intent.kind is IntentKind.OPEN:
            response = await self.client.chat_postMessage(  # the card
                channel=intent.channel,
                text=_text(intent),
                blocks=self._blocks(intent),
                metadata=_metadata(intent),
                unfurl_links=False,
            )
            return f"{response['channel']} {response['ts']}"
        if intent.kind in (IntentKind.UPDATE, IntentKind.RESOLVE) and channel and ts:
            await self.client.chat_update(
                channel=channel, ts=ts, text=_text(intent), blocks=self._blocks(intent)
            )
            if intent.kind is IntentKind.UPDATE:
                return card_ref or ""
        elif intent.kind is IntentKind.UPDATE:
            return ""  # the card was never posted in that channel: nothing to edit
        response = await self.client.chat_postMessage(
            channel=channel or intent.channel,
            thread_ts=ts or None,
            text=cut(_line(intent), MESSAGE_TEXT),
            metadata=_metadata(intent),
            unfurl_links=False,
        )
        return card_ref or f"{response['channel']} {response['ts']}"

    async def _deliver_part(self, intent: Intent, channel: str, ts: str) -> str:
        """A message of its own in the card's thread (reply drafts): posted under the card
        (``ref`` is the card's), then edited in place (``ref`` is its own)."""
        if intent.kind is IntentKind.OPEN:
            response = await self.client.chat_postMessage(
                channel=channel or intent.channel,
                thread_ts=ts or None,
                text=_text(intent),
                blocks=self._blocks(intent),
                metadata=_metadata(intent),
                unfurl_links=False,
                unfurl_media=False,
            )
            return f"{response['channel']} {response['ts']}"
        if not (channel and ts):
            return ""  # never posted in that channel: nothing to edit
        await self.client.chat_update(
            channel=channel, ts=ts, text=_text(intent), blocks=self._blocks(intent)
        )
        return f"{channel} {ts}"

    def _blocks(self, intent: Intent) -> list[dict[str, Any]]:
        new_post = intent.kind is IntentKind.OPEN
        if intent.card.get("type") == DRAFTS:
            return self._checked(draft_blocks(intent.card, intent.key, new_post=new_post))
        blocks = card_blocks(intent.card, intent.key, new_post=new_post)
        ping = mention_markup(intent.mention) if intent.kind is IntentKind.OPEN else ""
        if ping:
            blocks.insert(
                1,
                SectionBlock(
                    block_id=f"ping-{intent.key}",
                    text=MarkdownTextObject(text=f"{ping} new incident"),
                ),
            )
        return self._checked(blocks)

    @staticmethod
    def _checked(blocks: list[Any]) -> list[dict[str, Any]]:
        try:
            return check_blocks(blocks)
        except (InvalidBlocks, SlackObjectFormationError) as error:
            raise DeliveryError(
                f"the card is not valid Block Kit: {error}", retryable=False
            ) from None

    async def _find(self, intent: Intent, card_ref: str | None) -> str | None:
        """Look the intent's key up in the channel (a card) or the card's thread (a message)."""
        if intent.kind is IntentKind.UPDATE:
            return None  # an edit is idempotent: doing it again is harmless
        channel, ts = _split(card_ref)
        if (intent.kind is IntentKind.OPEN and not intent.part) or not ts:
            response = await self.client.conversations_history(
                channel=channel or intent.channel, limit=LOOK_BACK, include_all_metadata=True
            )
        else:
            return await self._find_in_thread(intent, card_ref, channel, ts)
        messages: list[dict[str, Any]] = response.get("messages", [])
        for message in messages:
            if _key_of(message) == intent.key:
                own = f"{channel or response.get('channel', intent.channel)} {message['ts']}"
                return own if intent.part else card_ref or own
        return None

    async def _find_in_thread(
        self, intent: Intent, card_ref: str | None, channel: str, ts: str
    ) -> str | None:
        """Read the thread from shortly before the intent was decided, a page at a time (a
        long incident's thread holds hundreds of messages, oldest first; apps outside the
        Slack Marketplace get at most 15 a page)."""
        oldest = max(0.0, (intent.created_at - POSTED_AFTER).timestamp())
        cursor = ""
        for _ in range(LOOK_PAGES):
            response = await self.client.conversations_replies(
                channel=channel,
                ts=ts,
                oldest=f"{oldest:.6f}",
                limit=LOOK_BACK,
                include_all_metadata=True,
                cursor=cursor or None,
            )
            messages: list[dict[str, Any]] = response.get("messages", [])
            for message in messages:
                if _key_of(message) == intent.key:
                    own = f"{channel} {message['ts']}"
                    return own if intent.part else card_ref or own
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                return None
        logger.warning(
            "slack: %s not found in the first %d pages of its thread; posting it",
            intent.key,
            LOOK_PAGES,
        )
        return None


def _split(ref: str | None) -> tuple[str, str]:
    if not ref or " " not in ref:
        return "", ""
    channel, ts = ref.split(" ", 1)
    return channel, ts


def _metadata(intent: Intent) -> dict[str, Any]:
    return {
        "event_type": EVENT_TYPE,
        "event_payload": {"key": intent.key, "incident": intent.incident_id},
    }


def _key_of(message: dict[str, Any]) -> str | None:
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != EVENT_TYPE:
        return None
    key = (metadata.get("event_payload") or {}).get("key")
    return str(key) if key is not None else None


def _text(intent: Intent) -> str:
    """The notification and screen-reader text of a card."""
    return cut(escape(intent.text), MESSAGE_TEXT)


def _line(intent: Intent) -> str:
    mention = mention_markup(intent.mention) if intent.mention else ""
    return f"{mention} {escape(intent.text)}".strip()


def _delivery_error(error: SlackApiError) -> DeliveryError:
    response = error.response
    code = str(response.get("error", "")) if isinstance(response.data, dict) else ""
    status = response.status_code
    retry_after = response.headers.get("Retry-After") or response.headers.get("retry-after")
    retryable = status == 429 or status >= 500 or code in RETRYABLE
    return DeliveryError(
        f"Slack answered {status} {code or 'error'}",
        retryable=retryable,
        retry_after=float(retry_after) if retry_after else None,
    )
