"""Answers to one person in Slack: where they go (the clicked message's thread) and how their
times read (each reader's own zone)."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)

_UTC_TIME = re.compile(r"\b([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}) UTC\b")


def local_times(mrkdwn: str) -> str:
    """``mrkdwn`` with each "YYYY-MM-DD HH:MM UTC" shown in the reader's zone by Slack
    (``<!date^…>``); the UTC text stays as the fallback."""

    def token(found: re.Match[str]) -> str:
        try:
            year, month, day, hour, minute = (int(part) for part in found.groups())
            moment = datetime(year, month, day, hour, minute, tzinfo=UTC)
        except ValueError:
            return found[0]
        return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{found[0]}>"

    return _UTC_TIME.sub(token, mrkdwn)


def clicked_thread(body: dict[str, Any]) -> str | None:
    """The thread of the message a click came from (None: not in a thread; a message that
    starts a thread carries its own ts as ``thread_ts``: it is in the channel)."""
    container, message = body.get("container") or {}, body.get("message") or {}
    thread = container.get("thread_ts") or message.get("thread_ts")
    own = container.get("message_ts") or message.get("ts")
    return str(thread) if thread and thread != own else None


async def say_privately(
    respond: AsyncRespond, client: AsyncWebClient, body: dict[str, Any], text: str
) -> None:
    """An ephemeral answer to whoever clicked, beside the clicked message: in its thread when
    it is in one (an answer through the response URL may land in the channel instead, so a
    threaded click is answered with ``chat.postEphemeral``; if Slack refuses that, through the
    response URL with the thread named)."""
    thread = clicked_thread(body)
    channel = str((body.get("channel") or {}).get("id") or "")
    if thread and channel:
        try:
            await client.chat_postEphemeral(
                channel=channel, user=str(body["user"]["id"]), text=text, thread_ts=thread
            )
            return
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            logger.info("slack: an answer in the thread failed (%r); answering by URL", error)
    await respond(text=text, response_type="ephemeral", replace_original=False, thread_ts=thread)
