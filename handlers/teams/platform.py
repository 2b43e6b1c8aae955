"""Incident notifications into Microsoft Teams through the Bot Connector: each incident's card
starts a thread in its channel, is updated in place, and escalations, drafts and the resolution
are replies in that thread.

Posting unprompted needs the channel's conversation reference, stored when Vigie was installed
in the team (or bound with "@Vigie watch NAME here"). The Bot Connector client does not retry:
429, 412, 502, 503 and 504 become retryable delivery errors with the answer's ``Retry-After``,
and the outbox backs off. Teams has no way to look a message up by key after a crash, so an
item that was being sent when Vigie died is sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from botbuilder.core import TurnContext  # type: ignore[import-untyped]
from botbuilder.integration.aiohttp import CloudAdapter  # type: ignore[import-untyped]
from botbuilder.schema import (  # type: ignore[import-untyped]
    Activity,
    ActivityTypes,
    ConversationParameters,
    ConversationReference,
)
from msrest.exceptions import ClientException

from bot.delivery import DeliveryError
from bot.incidents.model import Intent, IntentKind
from handlers.teams.mentions import teams_mention
from handlers.teams.people import TeamsDirectory
from handlers.teams.render import InvalidCard, card_attachment, escape

logger = logging.getLogger(__name__)

RETRYABLE = frozenset({412, 429, 500, 502, 503, 504})
MAX_TEXT = 4000
TOKEN_REFUSED = (
    "Microsoft Entra refused Vigie a token: check platforms.teams.app_id and app_password (the "
    "Azure Bot's client secret may have expired)"
)
References = Callable[[str], Awaitable[dict[str, Any] | None]]


class TeamsPlatform:
    def __init__(
        self, adapter: CloudAdapter, app_id: str, references: References, people: TeamsDirectory
    ) -> None:
        self.adapter = adapter
        self.app_id = app_id
        self.references = references  # channel key -> the stored conversation reference
        self.people = people  # who acted, shown by name

    async def deliver(self, intent: Intent, card_ref: str | None) -> str:
        try:
            return await self._deliver(intent, card_ref)
        except DeliveryError:
            raise
        except InvalidCard as error:
            raise DeliveryError(
                f"the card is not a valid Adaptive Card: {error}", retryable=False
            ) from error
        except PermissionError as error:  # an OSError, but no network one: our credentials
            logger.error("teams: Microsoft Entra refused Vigie a token: %s", error)
            raise DeliveryError(f"{TOKEN_REFUSED}: {error}", retry_after=300) from error
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise DeliveryError(f"Bot Connector unreachable: {error}") from error
        except ClientException as error:  # the Bot Connector client's (HTTP answers included)
            raise _delivery_error(error) from error
        except Exception as error:
            if _http_status(error) is None:
                raise  # a bug of ours (a card field missing...): tried 3 times, then failed
            raise _delivery_error(error) from error

    async def find(self, intent: Intent, card_ref: str | None = None) -> str | None:
        return None  # the Bot Connector cannot be searched by key: send again

    async def _deliver(self, intent: Intent, card_ref: str | None) -> str:
        await self.people.load()
        thread, root = _split(card_ref)
        if intent.kind is IntentKind.OPEN and not intent.part:
            return await self._new_thread(intent.channel, self._card(intent), *self._text(intent))
        if intent.kind is IntentKind.NOTICE or (not thread and intent.kind is IntentKind.THREAD):
            return await self._new_thread(intent.channel, None, *self._text(intent))
        if not thread:
            return ""  # the card was never posted in that channel: nothing to edit or answer
        if intent.part:
            if intent.kind is IntentKind.OPEN:
                posted = await self._reply(intent.channel, thread, self._card(intent), "")
                return f"{thread} {posted}"
            await self._update(intent.channel, thread, root, self._card(intent))
            return f"{thread} {root}"
        if intent.kind in (IntentKind.UPDATE, IntentKind.RESOLVE):
            try:
                await self._update(intent.channel, thread, root, self._card(intent))
            except Exception as error:  # the card deleted: the resolution is said all the same
                if intent.kind is IntentKind.UPDATE or _http_status(error) != 404:
                    raise
                logger.warning("teams: the card of %s is gone; replying all the same", intent.key)
        if intent.kind in (IntentKind.THREAD, IntentKind.RESOLVE):
            await self._reply(intent.channel, thread, None, *self._text(intent))
        return card_ref or ""

    def _card(self, intent: Intent) -> dict[str, Any]:
        return card_attachment(intent.card, self.people.name)

    def _text(self, intent: Intent) -> tuple[str, list[Any]]:
        """Message text, markdown made inert (Teams reads it in messages), people named, and
        the entity of the on-call mention when it is a real one (``Name <id>``)."""
        mention = teams_mention(intent.mention, self.people.name)
        if mention is not None:
            text = escape(self.people.named(intent.text), MAX_TEXT - len(mention.markup) - 1)
            return f"{mention.markup} {text}", [mention.entity()]
        plain = f"{intent.mention} " if intent.mention else ""
        return escape(self.people.named(f"{plain}{intent.text}"), MAX_TEXT), []

    async def _reference(self, channel: str) -> ConversationReference:
        stored = await self.references(channel)
        if stored is None:
            why = (
                "Vigie has heard from no Teams team yet: add the Vigie app to the channel's team"
                if ":" in channel
                else f"no Teams channel is '{channel}' yet: type '@Vigie watch {channel} here' "
                "in the channel that should get its cards"
            )
            raise DeliveryError(why, retryable=True, retry_after=300)
        return ConversationReference().deserialize(stored)

    async def _new_thread(
        self,
        channel: str,
        attachment: dict[str, Any] | None,
        text: str,
        entities: list[Any] | None = None,
    ) -> str:
        """Start a thread in the channel; its id and the first message's, as the card's ref."""
        reference = await self._reference(channel)
        channel_id = _channel_id(channel, reference)
        activity = Activity(
            type=ActivityTypes.message,
            text=text,
            attachments=[attachment] if attachment else None,
            entities=entities or None,
        )
        parameters = ConversationParameters(
            is_group=True,
            channel_data={"channel": {"id": channel_id}},
            activity=activity,
            tenant_id=reference.conversation.tenant_id,
            bot=reference.bot,
        )
        created: list[str] = []

        async def took(turn: TurnContext) -> None:
            created.append(f"{turn.activity.conversation.id} {turn.activity.id}")

        await self.adapter.create_conversation(
            self.app_id, took, parameters, "msteams", reference.service_url, None
        )
        return created[0]

    async def _reply(
        self,
        channel: str,
        thread: str,
        attachment: dict[str, Any] | None,
        text: str,
        entities: list[Any] | None = None,
    ) -> str:
        reference = await self._reference(channel)
        reference.conversation.id = thread
        activity = Activity(
            type=ActivityTypes.message,
            text=text,
            attachments=[attachment] if attachment else None,
            entities=entities or None,
        )
        sent: list[str] = []

        async def send(turn: TurnContext) -> None:
            answer = await turn.send_activity(activity)
            sent.append(str(answer.id) if answer is not None else "")

        await self.adapter.continue_conversation(reference, send, bot_app_id=self.app_id)
        return sent[0]

    async def _update(
        self, channel: str, thread: str, activity_id: str, attachment: dict[str, Any]
    ) -> None:
        reference = await self._reference(channel)
        reference.conversation.id = thread
        activity = Activity(type=ActivityTypes.message, id=activity_id, attachments=[attachment])

        async def update(turn: TurnContext) -> None:
            await turn.update_activity(activity)

        await self.adapter.continue_conversation(reference, update, bot_app_id=self.app_id)


def _channel_id(channel: str, reference: ConversationReference) -> str:
    """The channel to start a thread in: ``channel`` itself when it is an id (a reference kept
    by an older Vigie from a channel event may hold the team's General), else the channel the
    name was bound to."""
    if ":" in channel:
        return channel.split(";")[0]
    return str(reference.conversation.id).split(";")[0]


def _split(ref: str | None) -> tuple[str, str]:
    if not ref or " " not in ref:
        return "", ""
    thread, activity_id = ref.rsplit(" ", 1)
    return thread, activity_id


def _http_status(error: Exception) -> int | None:
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    return status if isinstance(status, int) else None


def _delivery_error(error: Exception) -> DeliveryError:
    """What the Bot Connector's answer means for trying again."""
    status = _http_status(error)
    response = getattr(error, "response", None)
    if status is None:
        return DeliveryError(f"Teams delivery failed: {error}")
    headers = getattr(response, "headers", None) or {}
    retry_after = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        wait = float(retry_after) if retry_after else None
    except ValueError:
        wait = None
    said = f"the Bot Connector answered {status}"
    code, message = _error_of(error)
    if code:
        said += f" {code}" + (f": {message[:200]}" if message else "")
    if (hint := _HINTS.get(code)) is not None:
        said += f" ({hint})"
    # a 429: the Bot Connector did nothing
    return DeliveryError(
        said, retryable=status in RETRYABLE, retry_after=wait, unsent=status == 429
    )


_HINTS = {
    "BotNotInConversationRoster": "Vigie was removed from that team or chat: add it again",
    "ConversationNotFound": "the channel or thread is gone",
    "MessageSizeTooBig": "the message is too big for Teams",
}


def _error_of(error: Exception) -> tuple[str, str]:
    """The Bot Connector's error code and message (its ErrorResponse body), when it sent one."""
    body = getattr(getattr(error, "error", None), "error", None)
    code = getattr(body, "code", None)
    message = getattr(body, "message", None)
    return (str(code) if code else "", str(message) if message else "")
