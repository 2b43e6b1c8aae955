"""What comes from Slack: button clicks, the slash command and mentions of the bot, through
slack-bolt's AsyncApp (signatures checked by Bolt in HTTP mode). Every listener acks first,
then works; answers to one person are ephemeral."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat_commands import AnswerStyle, ChatCommands
from bot.config.slack import SlackSettings
from bot.ids import parse_id
from bot.incidents.actions import ActionResult
from bot.incidents.control import IncidentControl
from bot.text import cut
from handlers.slack.answers import local_times, say_privately
from handlers.slack.draft_actions import SlackDraftActions
from handlers.slack.people import SlackDirectory, sender_of
from handlers.slack.render import (
    ACK,
    REOPEN,
    RESOLVE,
    SILENCE,
    SILENCE_HOURS,
    SNOOZE,
    UNACK,
    escape,
    inert,
    person,
)
from handlers.slack.responders import CannotTell, SlackResponders

logger = logging.getLogger(__name__)
ANSWER_TEXT = 3900  # answers are built to fit (bot.chat_commands); cut here only as a last resort
SLACK_STYLE = AnswerStyle(
    bold=lambda text: f"*{text}*", text=inert, person=person, literal=escape, limit=ANSWER_TEXT
)
"""Answers are ephemeral: naming a person as ``<@U…>`` shows their name and pings nobody."""

SEEN_EVENTS = 2048
CANNOT_TELL = (
    "Slack could not say in time whether you are one of {who} (it is busy or failing); "
    "nothing was changed. Try again in a moment."
)


class _WithholdBody(logging.Filter):
    """Bolt logs a refused request's signature and whole body at INFO: someone else's words
    (a forger's, or a real user's when the secret is wrong) and a multi-line body that can fake
    log lines. Keep the fact, drop the rest."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Invalid request signature detected"):
            record.msg, record.args = "Slack request refused: invalid or stale signature", None
        return True


class _OwnClient(logging.Filter):
    """Bolt reads ``$SLACK_BOT_TOKEN`` by itself and, seeing Vigie's own client (built from
    ``platforms.slack.bot_token``), warns that the variable is unused: expected, not news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("As you gave `client` as well")


_BOLT_VERIFICATION = logging.getLogger("slack_bolt.RequestVerification")
_BOLT_VERIFICATION.addFilter(_WithholdBody())
logging.getLogger("slack_bolt.AsyncApp").addFilter(_OwnClient())


def build_slack_app(
    settings: SlackSettings,
    client: AsyncWebClient,
    control: IncidentControl,
    commands: ChatCommands,
    responders: SlackResponders,
    brand_names: dict[str, str],
    drafts: SlackDraftActions | None = None,
    from_elsewhere: Callable[[str | None], Awaitable[bool]] | None = None,
    people: SlackDirectory | None = None,
) -> AsyncApp:
    """``from_elsewhere(install)``: whether a button was posted for another database (see
    ``DraftControl.from_elsewhere``); without it, every button is taken as this one's.
    ``people`` learns the name of everyone who acts, for new posts to show."""
    secret = settings.signing_secret.get_secret_value() if settings.signing_secret else None
    app = AsyncApp(
        client=client,
        signing_secret=secret,
        request_verification_enabled=secret is not None,  # Bolt skips it for Socket Mode
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )
    seen: OrderedDict[str, None] = OrderedDict()

    @app.middleware
    async def once_per_event(
        body: dict[str, Any], next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        """Slack retries an event it thinks was lost; handle each event id once."""
        event_id = body.get("event_id")
        if isinstance(event_id, str):
            if event_id in seen:
                return BoltResponse(status=200, body="")
            seen[event_id] = None
            while len(seen) > SEEN_EVENTS:
                seen.popitem(last=False)
        return await next()

    if people is not None:
        learning: set[asyncio.Task[None]] = set()  # kept until done (the loop keeps weak refs)

        @app.middleware
        async def learn_names(
            body: dict[str, Any], next: Callable[[], Awaitable[BoltResponse]]
        ) -> BoltResponse | None:
            """Whoever acts may be named in the posts it causes: learnt beside the action, so
            the answer to Slack never waits for the name's write."""
            response = await next()
            task = asyncio.create_task(people.learn(*sender_of(body)), name="slack-learn-name")
            learning.add(task)
            task.add_done_callback(_learnt(learning))
            return response

    clicks = _Clicks(control, responders, brand_names, from_elsewhere or _ours)
    app.action(re.compile(r"^vigie_(?!draft_)"))(clicks.handle)
    if drafts is not None:
        drafts.register(app)

    @app.command(settings.command)
    async def command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        try:
            text, user = unescape(str(command.get("text", ""))), str(command["user_id"])
            answer = _zoned(await commands.answer(text, user, SLACK_STYLE))
        except CannotTell:
            answer = CANNOT_TELL.format(who="the responders")
        except Exception:
            logger.exception("slack: %s %r failed", settings.command, command.get("text", ""))
            answer = "Sorry, that did not work. Try again, or see the logs."
        await respond(text=cut(answer, ANSWER_TEXT), response_type="ephemeral")

    @app.event("app_mention")
    async def mentioned(
        event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        """``@Vigie incidents`` in a channel: answered to the asker only, like the command.
        A message posted by another bot or integration (which may relay outside text) is no
        command: it is ignored."""
        user = str(event.get("user", ""))
        if event.get("bot_id") or event.get("subtype") == "bot_message" or not user:
            logger.info("slack: @mention by a bot or integration ignored (%s)", event.get("bot_id"))
            return
        text = unescape(without_bot(str(event.get("text", "")), context.bot_user_id))
        try:
            answer = _zoned(await commands.answer(text, user, SLACK_STYLE))
        except CannotTell:
            answer = CANNOT_TELL.format(who="the responders")
        except Exception:
            logger.exception("slack: @mention %r failed", text)
            answer = "Sorry, that did not work. Try again, or see the logs."
        await client.chat_postEphemeral(
            channel=str(event["channel"]),
            user=user,
            text=cut(answer, ANSWER_TEXT),
            thread_ts=event.get("thread_ts"),
        )

    return app


def _learnt(learning: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
    def done(task: asyncio.Task[None]) -> None:
        learning.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.warning("slack: learning a name failed", exc_info=error)

    return done


def _zoned(answer: str) -> str:
    """An answer whose UTC times Slack shows in each reader's zone, if it still fits."""
    zoned = local_times(answer)
    return zoned if len(zoned) <= ANSWER_TEXT else answer


_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}


def unescape(text: str) -> str:
    """What was typed, from Slack's message text: Slack escapes only ``&``, ``<`` and ``>``
    (its markup, ``<@U…>``, stays as it is)."""
    return _ENTITY.sub(lambda found: _ENTITIES[found[1]], text)


def without_bot(text: str, bot_user_id: str | None) -> str:
    """An ``@Vigie …`` message without the leading mention of Vigie; other people mentioned
    stay, as Slack wrote them (``<@U…>``)."""
    bot = re.escape(bot_user_id) if bot_user_id else "[UW][A-Z0-9]+"
    return re.sub(rf"^\s*<@{bot}(?:\|[^>]*)?>", "", text).strip()


async def _ours(install: str | None) -> bool:
    return False


_INSTALL = re.compile(r"[0-9a-f]{1,32}")


class _Clicks:
    """A button or menu on an incident card: reload, check permission, act, say why not."""

    def __init__(
        self,
        control: IncidentControl,
        responders: SlackResponders,
        brand_names: dict[str, str],
        from_elsewhere: Callable[[str | None], Awaitable[bool]],
    ) -> None:
        self.control = control
        self.responders = responders
        self.brand_names = brand_names
        self.from_elsewhere = from_elsewhere

    async def handle(
        self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()

        async def say(text: str) -> None:
            await say_privately(respond, client, body, text)

        action = body["actions"][0]
        user = str(body["user"]["id"])
        value = str(action.get("value") or (action.get("selected_option") or {}).get("value", ""))
        parsed = _incident_value(value)
        if parsed is None:
            await say("That button is not from Vigie, or is too old to use.")
            return
        incident_id, argument, install = parsed
        if await self.from_elsewhere(install):
            await say(ELSEWHERE_INCIDENT)
            return
        brand = await self.control.brand_of(incident_id)
        if brand is None:
            await say(f"Incident #{incident_id} no longer exists.")
            return
        may = await self.responders.may_act(user, brand)
        if may is None:
            await say(CANNOT_TELL.format(who=f"{self._name(brand)}'s responders"))
            logger.info("slack: cannot tell whether %s may act on #%d", user, incident_id)
            return
        if not may:
            await say(f"Only {self._name(brand)}'s responders can do that (see app.yaml).")
            logger.info("slack: %s may not act on incident #%d (%s)", user, incident_id, brand)
            return
        action_id = str(action["action_id"])
        try:
            result = await self._act(action_id, incident_id, user, argument)
        except Exception:
            logger.exception("slack: %s on incident #%d failed", action_id, incident_id)
            await say("Sorry, that did not work; nothing was changed. Try again.")
            return
        if not result.ok or action_id == SILENCE:  # a silence changes no card: say it worked
            await say(local_times(_with_people(result)))

    def _name(self, brand: str) -> str:
        return self.brand_names.get(brand, brand)

    async def _act(
        self, action_id: str, incident_id: int, user: str, argument: str
    ) -> ActionResult:
        control = self.control
        if action_id == ACK:
            return await control.acknowledge(incident_id, user)
        if action_id == UNACK:
            return await control.unacknowledge(incident_id, user)
        if action_id == RESOLVE:
            return await control.resolve(incident_id, user)
        if action_id == REOPEN:
            return await control.reopen(incident_id, user)
        minutes = parse_id(argument)
        if action_id == SNOOZE and minutes is not None and minutes <= 7 * 24 * 60:
            return await control.snooze(incident_id, user, minutes)
        if action_id == SILENCE:
            return await control.silence_topic(incident_id, user, SILENCE_HOURS)
        return ActionResult(False, "Vigie does not know that button; update the card.")


ELSEWHERE_INCIDENT = (
    "That button was posted by an earlier Vigie database (it has been started afresh since): "
    "its incident is not this one's. Nothing was changed."
)


def _incident_value(value: str) -> tuple[int, str, str | None] | None:
    """An incident button's incident number, argument (a snooze's minutes) and the id of the
    database that posted it (None on cards posted before it was carried); None: not Vigie's."""
    parts = value.split(":")
    number = parse_id(parts[0])
    install = parts[2] if len(parts) == 3 else None
    if (
        number is None
        or len(parts) > 3
        or (install is not None and not _INSTALL.fullmatch(install))
    ):
        return None
    return number, parts[1] if len(parts) > 1 else "", install


def _with_people(result: ActionResult) -> str:
    """The result's message as mrkdwn, the people it names shown by name (an ephemeral answer
    notifies nobody)."""
    text = inert(result.message)
    for who in {p for p in result.people if p}:
        shown = person(who)
        text = re.sub(rf"\b{re.escape(who)}\b", lambda _: shown, text)  # noqa: B023
    return text


def slack_route(app: AsyncApp) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """``POST /slack/events`` on Vigie's own aiohttp application."""

    async def handle(request: web.Request) -> web.StreamResponse:
        signature = request.headers.get("X-Slack-Signature", "")
        if not signature.isascii():  # slack_sdk's verifier raises on these: refuse them here
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_request: AsyncBoltRequest = await to_bolt_request(request)
            return await to_aiohttp_response(await app.async_dispatch(bolt_request))
        except (ValueError, RecursionError):  # Bolt reads the payload before the signature
            return web.json_response({"error": "malformed request"}, status=400)

    return handle
