"""Incident notifications into Slack: post the card once, edit it in place, thread the rest.

Each message carries its idempotency key in Slack message metadata, so after a crash between
"sent to Slack" and "recorded as sent" ``find`` reads it back and nothing is posted twice.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
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
from bot.text import cut
from handlers.slack.people import SlackDirectory
from handlers.slack.render import (
    InvalidBlocks,
    NameOf,
    card_blocks,
    check_blocks,
    escape,
    mention_markup,
)
from handlers.slack.render_drafts import draft_blocks

logger = logging.getLogger(__name__)

EVENT_TYPE = "vigie_notification"
MESSAGE_TEXT = 3900  # Slack truncates message text past 40,000; keep thread lines readable
LOOK_BACK = 100  # messages asked for per page when looking an idempotency key up after a crash
LOOK_PAGES = 5
"""Pages read at most to look one message up, over all its attempts (``SlackPlatform.find``):
apps outside the Slack Marketplace get 15 messages a page and one call a minute."""
POSTED_AFTER = timedelta(hours=2)
"""A message cannot have been posted long before its intent was decided: look-ups start there
(``oldest``). Two hours cover an event clock up to an hour ahead of the wall
(``bot.clock.MAX_AHEAD``)."""
LOOK_SPAN = timedelta(hours=24)
"""Look-ups never reach further back than this before the wall clock: an intent's
``created_at`` is event time, which in a replay may be long ago while the message was posted
just now."""
LOOKUPS_KEPT = 256  # look-ups waiting for Slack (a 429) remembered at most, oldest dropped
NOT_POSTED = frozenset({"channel_not_found", "thread_not_found"})
"""Look-up answers that mean the message is not there (posting it says why, if it cannot be)."""
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


@dataclass
class _Lookup:
    """A look-up in progress: where it resumes after Slack asked it to wait."""

    oldest: str
    cursor: str = ""
    pages: int = 0


class _CannotTell(Exception):
    """Slack's messages were read as far as the budget allows without an answer."""


class SlackPlatform:
    def __init__(
        self,
        client: AsyncWebClient,
        *,
        wall: Callable[[], float] = time.time,
        people: SlackDirectory | None = None,
    ) -> None:
        self.client = delivery_client(client)
        self.wall = wall
        self.people = people  # names new posts show instead of ids (a <@U…> would notify)
        self._lookups: dict[tuple[str, str, str], _Lookup] = {}
        self._said: set[tuple[str, str]] = set()  # (channel, reason) a look-up could not be done

    async def deliver(self, intent: Intent, card_ref: str | None) -> str:
        try:
            return await self._deliver(intent, card_ref)
        except SlackApiError as error:
            raise _delivery_error(error, _split(card_ref)[0] or intent.channel) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise DeliveryError(f"Slack unreachable: {error}") from error

    async def find(self, intent: Intent, card_ref: str | None = None) -> str | None:
        """After a crash or a failed attempt: the ref of this intent's message if Slack has it.

        Policy: the look-up is bounded, and when it cannot answer for a reason other than
        Slack being unreachable or busy, the answer is "not found", so the message is posted
        (a possible duplicate is better than a lost card):

        * Slack unreachable, a 5xx or a 429: ``DeliveryError`` (retryable, with Slack's
          Retry-After), and the next attempt resumes the look-up where it stopped (its cursor
          is kept), so a thread read at one call a minute is never read from its start again.
        * Slack refuses the look-up (missing_scope, not_in_channel, invalid_auth...): logged
          (a WARNING once per channel and reason) and "not found"; posting then succeeds, or
          fails with Slack's own reason for it.
        * Only messages since ``POSTED_AFTER`` before the intent was decided are read (and
          never from further back than ``LOOK_SPAN`` before the wall: ``created_at`` is event
          time, long ago in a replay), at most ``LOOK_PAGES`` pages over all the attempts:
          past that, "not found" (logged as above) rather than waiting for more pages.
        """
        channel, ts = _split(card_ref)
        where = channel or intent.channel
        in_thread = bool(ts) and (intent.kind is not IntentKind.OPEN or bool(intent.part))
        lookup_key = (intent.key, where, ts if in_thread else "")
        try:
            found = await self._find(intent, card_ref, lookup_key, in_thread)
        except SlackApiError as error:
            code = error_code(error)
            failure = _delivery_error(error, where)
            if code in NOT_POSTED or not failure.retryable:
                self._lookups.pop(lookup_key, None)
            if code in NOT_POSTED:
                return None
            if failure.retryable:  # Slack busy or failing: asked again later, from here
                raise failure from error
            self._cannot_tell(intent, where, f"Slack refused the look-up: {code or 'error'}")
            return None
        except (aiohttp.ClientError, TimeoutError) as error:  # cannot tell: asked again later
            raise DeliveryError(f"Slack unreachable: {error}") from error
        except _CannotTell as error:
            self._lookups.pop(lookup_key, None)
            self._cannot_tell(intent, where, str(error))
            return None
        self._lookups.pop(lookup_key, None)
        return found

    def _cannot_tell(self, intent: Intent, channel: str, reason: str) -> None:
        said = (channel, reason)
        log = logger.debug if said in self._said else logger.warning
        self._said.add(said)
        log(
            "slack: cannot tell whether %s is already in %s (%s); posting it, which may "
            "post it twice",
            intent.key,
            channel,
            reason,
        )

    async def _deliver(self, intent: Intent, card_ref: str | None) -> str:
        if self.people is not None:
            await self.people.load()
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
            try:
                await self.client.chat_update(
                    channel=channel, ts=ts, text=_text(intent), blocks=self._blocks(intent)
                )
            except SlackApiError as error:
                if error_code(error) != "message_not_found":
                    raise
                logger.warning("slack: the card of %s is gone; posting it again", intent.key)
                if intent.kind is IntentKind.UPDATE:  # later edits and threads go to the new one
                    return await self._repost(intent, f"{channel} {ts}")
                ts = ""  # the resolution is said all the same, in the channel
            if intent.kind is IntentKind.UPDATE:
                return card_ref or ""
        elif intent.kind is IntentKind.UPDATE:
            return ""  # the card was never posted in that channel: nothing to edit
        response = await self.client.chat_postMessage(
            channel=channel or intent.channel,
            thread_ts=ts or None,
            text=cut(_line(intent, self._named), MESSAGE_TEXT),
            metadata=_metadata(intent),
            unfurl_links=False,
        )
        return card_ref or f"{response['channel']} {response['ts']}"

    async def _repost(self, intent: Intent, gone: str) -> str:
        """The card of an update, posted again as a new message (someone deleted the card
        ``gone``): its ref is returned, which the outbox keeps as the card's from now on. An
        attempt that posted it and lost the answer (a timeout, a crash) posted it already: the
        channel's newest messages are read first, so it is never posted twice."""
        channel = _split(gone)[0]
        if (posted := await self._reposted(intent, channel)) is not None:
            return posted
        response = await self.client.chat_postMessage(
            channel=channel,
            text=_text(intent),
            blocks=self._blocks(intent, new_post=True),
            metadata=_metadata(intent),
            unfurl_links=False,
        )
        return f"{response['channel']} {response['ts']}"

    async def _reposted(self, intent: Intent, channel: str) -> str | None:
        """The ref of this update's card if an earlier attempt posted it again (one page of the
        channel's history, newest first, since shortly before the update was decided)."""
        response = await self.client.conversations_history(
            channel=channel,
            oldest=f"{self._oldest(intent):.6f}",
            limit=LOOK_BACK,
            include_all_metadata=True,
        )
        messages: list[dict[str, Any]] = response.get("messages", [])
        for message in messages:
            if _key_of(message) == intent.key:
                return f"{channel} {message['ts']}"
        return None

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

    def _blocks(self, intent: Intent, *, new_post: bool = False) -> list[dict[str, Any]]:
        """The card as checked Block Kit; one Slack would refuse, rendering included, is a
        ``DeliveryError`` that trying again cannot mend. ``new_post``: posted, not edited,
        whatever the intent (people named in plain text: a ``<@U…>`` would notify them)."""
        try:
            return check_blocks(self._rendered(intent, new_post=new_post))
        except (InvalidBlocks, SlackObjectFormationError) as error:
            raise DeliveryError(
                f"the card is not valid Block Kit: {error}", retryable=False
            ) from None

    def _named(self, escaped: str) -> str:
        """Escaped message text with the ids of people Vigie knows shown as their names."""
        return self.people.named(escaped) if self.people is not None else escaped

    def _rendered(self, intent: Intent, *, new_post: bool = False) -> list[Any]:
        new_post = new_post or intent.kind is IntentKind.OPEN
        # without a directory the renderers' default (ids shown as they are) applies
        named: dict[str, NameOf] = {} if self.people is None else {"name_of": self.people.name}
        if intent.card.get("type") == DRAFTS:
            return draft_blocks(intent.card, intent.key, new_post=new_post, **named)
        blocks = card_blocks(intent.card, intent.key, new_post=new_post, **named)
        ping = mention_markup(intent.mention) if intent.kind is IntentKind.OPEN else ""
        if ping:
            blocks.insert(
                1,
                SectionBlock(
                    block_id=f"ping-{intent.key}",
                    text=MarkdownTextObject(text=f"{ping} new incident"),
                ),
            )
        return blocks

    async def _find(
        self,
        intent: Intent,
        card_ref: str | None,
        lookup_key: tuple[str, str, str],
        in_thread: bool,
    ) -> str | None:
        """Look the intent's key up in the channel (a card: newest first) or the card's thread
        (a message: oldest first), a page at a time, resuming a look-up Slack interrupted."""
        if intent.kind is IntentKind.UPDATE:
            return None  # an edit is idempotent: doing it again is harmless
        _, where, ts = lookup_key
        lookup = self._lookups.get(lookup_key)
        if lookup is None:
            lookup = _Lookup(oldest=f"{self._oldest(intent):.6f}")
            while len(self._lookups) >= LOOKUPS_KEPT:
                del self._lookups[next(iter(self._lookups))]
            self._lookups[lookup_key] = lookup
        while lookup.pages < LOOK_PAGES:
            asked: dict[str, Any] = {
                "channel": where,
                "oldest": lookup.oldest,
                "limit": LOOK_BACK,
                "include_all_metadata": True,
                "cursor": lookup.cursor or None,
            }
            if in_thread:
                response = await self.client.conversations_replies(ts=ts, **asked)
            else:
                response = await self.client.conversations_history(**asked)
            lookup.pages += 1
            messages: list[dict[str, Any]] = response.get("messages", [])
            for message in messages:
                if _key_of(message) == intent.key:
                    own = f"{where} {message['ts']}"
                    return own if intent.part else card_ref or own
            lookup.cursor = (response.get("response_metadata") or {}).get("next_cursor") or ""
            if not lookup.cursor:
                return None
        raise _CannotTell(f"not in the {LOOK_PAGES} pages read")

    def _oldest(self, intent: Intent) -> float:
        """Where a look-up starts: shortly before the intent was decided, but neither after
        the wall clock (an event clock ahead) nor long before it (a replay's event time)."""
        now = self.wall()
        decided = min(intent.created_at.timestamp(), now) - POSTED_AFTER.total_seconds()
        return max(0.0, decided, now - LOOK_SPAN.total_seconds())


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


def _line(intent: Intent, named: Callable[[str], str]) -> str:
    """A thread message: always a new post, so people in it (written by id: "acknowledged by
    U…") are ``named`` in plain text, never ``<@U…>``; only the policy's mention pings."""
    mention = mention_markup(intent.mention) if intent.mention else ""
    return f"{mention} {named(escape(intent.text))}".strip()


def error_code(error: SlackApiError) -> str:
    """Slack's error code ("" when the body was no JSON object, e.g. a proxy's text/plain
    5xx page, which slack_sdk keeps as a str)."""
    data = error.response.data
    return str(data.get("error") or "") if isinstance(data, dict) else ""


_HINTS = {
    "not_in_channel": "Vigie is not a member of {channel}: invite it to the channel",
    "channel_not_found": "no channel {channel} that Vigie can see (a private channel must "
    "invite Vigie)",
    "is_archived": "{channel} is archived",
    "missing_scope": "the Slack app lacks a scope{needed}: add it and reinstall the app",
    "invalid_auth": "the Slack bot token is invalid",
    "not_authed": "no Slack bot token was sent",
    "token_revoked": "the Slack bot token was revoked",
    "account_inactive": "the Slack bot token belongs to a deactivated app or user",
}


def _delivery_error(error: SlackApiError, channel: str = "") -> DeliveryError:
    response = error.response
    code = error_code(error)
    status = response.status_code
    retry_after = response.headers.get("Retry-After") or response.headers.get("retry-after")
    retryable = status == 429 or status >= 500 or code in RETRYABLE
    unsent = status == 429 or code == "ratelimited"  # Slack did nothing: no need to look it up
    message = f"Slack answered {status} {code or 'error'}"
    if (hint := _HINTS.get(code)) is not None:
        data = response.data if isinstance(response.data, dict) else {}
        needed = f" ({data['needed']})" if data.get("needed") else ""
        message += ": " + hint.format(channel=channel or "the channel", needed=needed)
    try:
        wait = float(retry_after) if retry_after else None
    except ValueError:
        wait = None
    return DeliveryError(message, retryable=retryable, retry_after=wait, unsent=unsent)
