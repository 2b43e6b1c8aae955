"""What comes from Teams: installations (conversation references kept), messages to the bot
(commands), and card buttons (``adaptiveCard/action`` invokes), through botbuilder's
``CloudAdapter`` on ``POST /api/messages``.

A click is answered in the invoke's HTTP response with the refreshed card, so everyone sees the
new state at once; the outbox edits the card in other channels. An incident's buttons act only
in a conversation its card was posted in, and a Save edit or Reject refused for an out-of-date
card answers with the card keeping what was typed. Permissions are checked per
Microsoft Entra object id, which is also what the audit records; people are shown by their
Teams display name (handlers.teams.people). Two upstream bugs are designed around: an
Action.Execute answer is returned as the model (botbuilder serialises a dict twice, giving HTTP
500), and a bad or expired token is answered 401 rather than botbuilder's 500. Teams' markdown
ignores a single line break, so command answers are sent with a blank line between lines.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, ClassVar

import jwt
import sqlite_utils
from aiohttp import web
from botbuilder.core import InvokeResponse, TurnContext  # type: ignore[import-untyped]
from botbuilder.core.teams import TeamsActivityHandler  # type: ignore[import-untyped]
from botbuilder.integration.aiohttp import CloudAdapter  # type: ignore[import-untyped]
from botbuilder.schema import (  # type: ignore[import-untyped]
    Activity,
    ActivityTypes,
    AdaptiveCardInvokeResponse,
)

from bot.chat_commands import AnswerStyle, ChatCommands
from bot.drafts.cards import drafts_card
from bot.drafts.control import ELSEWHERE, DraftControl
from bot.drafts.model import Draft, DraftState
from bot.incidents.actions import ActionResult
from bot.incidents.cards import card_of
from bot.incidents.control import IncidentControl
from bot.text import cut
from handlers.teams.actions import (
    InvalidAction,
    TeamsAction,
    Verb,
    parse_invoke,
    parse_submit,
    reason_input,
    text_input,
)
from handlers.teams.credentials import OwnTokenUnavailable
from handlers.teams.mentions import command_text
from handlers.teams.people import TeamsDirectory, entra_id_of
from handlers.teams.render import (
    CONTENT_TYPE,
    code_kept,
    drafts_adaptive_card,
    escape,
    incident_adaptive_card,
    line_breaks,
    saved_version,
    with_input_value,
    with_notice,
    with_typed_copy,
)
from storage import drafts as store
from storage.conversations import load_reference, save_reference
from storage.incidents import get_incident
from storage.writer import Writer

logger = logging.getLogger(__name__)

PLATFORM = "teams"
MESSAGE = "application/vnd.microsoft.activity.message"
WATCH_HELP = (
    "**@Vigie watch** NAME **here**: incident targets with channel NAME post in this channel"
)
NOT_A_CHANNEL = (
    "Run watch in a team channel: Vigie posts each incident card as a new thread of a channel, "
    "which a group chat or a personal chat cannot hold."
)
UNSAVED = {
    Verb.APPROVE: "The text box was changed: save it with Save edit first, then approve.",
    Verb.RETRY: (
        "The text box was changed: save it with Save edit first, then approve it (Retry "
        "publishes the text as it was saved)."
    ),
}
NO_ENTRA_ID = (
    "Teams does not tell Vigie who you are in your organisation (no Microsoft Entra id: a guest "
    "or an anonymous meeting participant, for instance), so you can read but not act. Ask a "
    "responder of your organisation."
)
NOT_LISTED, FOREIGN = "not a listed responder of every brand", "another organisation's channel"
CHANGES = frozenset({"silence", "unack", "unacknowledge", "merge"})  # commands that act
FAILED = "Sorry, that did not work; nothing was changed. Try again."
NOT_HERE = (
    "Incident #{incident}'s card was not posted in this conversation: Vigie acts on an incident's "
    "buttons only in the channels its card went to. Nothing was changed."
)
NOT_FROM_VIGIE = "That button is not from Vigie, or is too old to use. Nothing was changed."
KEPT = {
    Verb.EDIT: (
        "Your text is kept in the box (theirs is above it): Save edit again replaces their "
        "version with yours."
    ),
    Verb.REJECT: "Your reason is kept: Reject again rejects this new version.",
}
NOT_KEPT = {
    Verb.EDIT: "Your text was not saved; it is below, to copy.",
    Verb.REJECT: "Nothing was rejected; your reason is below, to copy.",
}
INCIDENT_ELSEWHERE = (
    "That button was posted by an earlier Vigie database (it has been started afresh since): "
    "its incident is not this one's. Nothing was changed."
)
MAX_ANSWER = 1000
# a command's answer, in characters: built to fit (bot.chat_commands), each line break doubled
# (line_breaks), well inside Teams' 28 KB message; the cut to LAST_RESORT is only a safety net
COMMAND_ANSWER = 12_000
LAST_RESORT = 16_000
OUTBOUND_FAILED = (
    "teams: Vigie could not get its own token from Microsoft Entra, so it cannot answer in "
    "Teams (is login.microsoftonline.com reachable?): %s: %s"
)
OUTBOUND_REFUSED = (
    "teams: Microsoft Entra refused Vigie a token, so it cannot post to Teams: check "
    "platforms.teams.app_id and app_password (the Azure Bot's client secret may have expired; "
    "create a new one): %s"
)


def teams_style(people: TeamsDirectory) -> AnswerStyle:
    """Teams reads markdown: ``**`` is bold (``*`` would be italics); people by name, and the
    ids in audit details (``by 5b1c…``) too."""
    return AnswerStyle(
        bold=lambda text: f"**{text}**",
        text=lambda text: escape(people.named(text), MAX_ANSWER),
        person=lambda who: escape(people.name(who), 200),
        command="@Vigie",
        literal=code_kept,  # a typed backtick must not close our code span and free a link
        limit=COMMAND_ANSWER,
    )


_WATCH = re.compile(r"^watch\s+(\S+)\s+here$", re.IGNORECASE)


class TeamsPeople:
    """Who may act (responders) or decide on drafts (approvers), by Entra object id per brand.
    Responders: nobody listed means everyone; approvers: nobody listed means nobody."""

    def __init__(self, people: Mapping[str, Sequence[str]], *, open_when_empty: bool) -> None:
        self.people = {brand: {i.lower() for i in ids} for brand, ids in people.items()}
        self.open_when_empty = open_when_empty

    async def may_act(self, user: str, brand: str) -> bool:
        """Whether ``user`` (an Entra object id; "" for someone without one: never) may act
        for ``brand``."""
        if not user:
            return False
        if self._open():
            return True
        return user.lower() in self.people.get(brand, set()) | self.people.get("*", set())

    async def may_act_somewhere(self, user: str) -> bool:
        """Whether ``user`` may act for at least one brand."""
        if not user:
            return False
        return self._open() or any(user.lower() in ids for ids in self.people.values())

    def everywhere(self, brands: Iterable[str]) -> list[str]:
        """Who is listed for every one of ``brands`` (under "*", or for each), sorted."""
        wanted = list(brands)
        listed = set().union(*self.people.values())
        return sorted(
            user
            for user in listed
            if user in self.people.get("*", set())
            or (wanted and all(user in self.people.get(brand, set()) for brand in wanted))
        )

    def _open(self) -> bool:
        return self.open_when_empty and not any(self.people.values())


class VigieTeamsBot(TeamsActivityHandler):  # type: ignore[misc]
    def __init__(
        self,
        writer: Writer,
        incidents: IncidentControl,
        drafts: DraftControl,
        commands: ChatCommands,
        responders: TeamsPeople,
        approvers: TeamsPeople,
        brand_names: dict[str, str],
        people: TeamsDirectory,
        watchable: Iterable[str] = (),
        on_reference: Callable[[], Awaitable[None]] | None = None,
        *,
        tenant: str = "",
    ) -> None:
        super().__init__()
        self.tenant = tenant.lower()  # platforms.teams.tenant_id: "" lets any organisation in
        self.watchable = frozenset(watchable)  # Teams target channels given by name
        self.on_reference = on_reference  # a channel became reachable: retry what waits
        self.writer = writer
        self.incidents = incidents
        self.drafts = drafts
        self.commands = commands
        self.responders = responders
        self.approvers = approvers
        self.brand_names = brand_names
        self.people = people  # display names, learnt from every activity's sender
        self.style = teams_style(people)

    async def on_turn(self, turn_context: TurnContext) -> None:
        await self.people.learn(turn_context.activity)
        await self._remember(turn_context.activity)
        await super().on_turn(turn_context)

    async def _remember(self, activity: Activity) -> None:
        """Keep where this conversation is, under its own id (a channel's, without a thread's
        ";messageid=")."""
        if activity.conversation is None or not activity.service_url:
            return
        reference = TurnContext.get_conversation_reference(activity).serialize()
        channel = _channel_of(activity)
        new = await self.writer.run(
            lambda db: _save(db, channel, reference, _channel_name(activity)), urgent=True
        )
        if new and self.on_reference is not None:
            await self.on_reference()

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if activity.value:  # an Action.Submit fallback (older clients)
            await turn_context.send_activity(await self._submitted(activity))
            return
        text = command_text(activity)
        watch = _WATCH.match(text)
        if watch:
            await turn_context.send_activity(await self._watch(activity, watch[1]))
            return
        actor = entra_id_of(activity)
        try:
            if not actor and text.split(" ", 1)[0].casefold() in CHANGES:
                answer = NO_ENTRA_ID
            else:
                answer = await self.commands.answer(text, actor, self.style)
        except Exception:
            logger.exception("teams: %r failed", text)
            answer = "Sorry, that did not work. Try again, or see the logs."
        if text.split(" ", 1)[0].casefold() in ("", "help") and _in_channel(activity):
            answer += f"\n{WATCH_HELP}"
        await turn_context.send_activity(
            Activity(type=ActivityTypes.message, text=cut(line_breaks(answer), LAST_RESORT))
        )

    async def _submitted(self, activity: Activity) -> str:
        """An older client's ``Action.Submit`` click, done as a click is; what to answer, as a
        message in the thread that everyone there reads: Vigie's own words only (neither what
        was typed nor a forged button's content is repeated; the card is not replaced)."""
        try:
            action = parse_submit(activity.value)
        except InvalidAction as error:
            logger.info("teams: a submitted button is not Vigie's: %s", error)
            return NOT_FROM_VIGIE
        try:
            message, _ = await self._act(action, entra_id_of(activity), _channel_of(activity))
        except Exception:
            logger.exception("teams: %s failed", action.verb)
            message = FAILED
        return escape(message, MAX_ANSWER)  # a message: markdown

    async def _watch(self, activity: Activity, name: str) -> str:
        """Bind a target's channel name to this conversation: only a responder, only a name
        the configuration gives a Teams target (never a channel id, which would redirect the
        cards of a channel Vigie already knows). A name bound elsewhere carries every brand's
        cards: only a responder of every brand listed in platforms.teams.responders may move
        it (while nobody is listed, anyone may bind a name first, so that setting up works, but
        nobody may take it away), and never into another organisation's channel than the one
        it posts in, unless that is platforms.teams.tenant_id's."""
        user = entra_id_of(activity)
        if not _in_channel(activity):
            return NOT_A_CHANNEL
        if not user:
            return NO_ENTRA_ID
        if not await self.responders.may_act_somewhere(user):
            logger.warning("teams: %s may not bind channel name %r (not a responder)", user, name)
            return (
                "Only responders can choose where incident cards go (platforms.teams.responders)."
            )
        shown = escape(name)  # the person's own text, inside our markdown
        if ":" in name:
            return (
                f"'{shown}' is a channel id, not a name: a target whose channel is an id "
                "posts there as soon as Vigie is in that team, with no watch needed."
            )
        if name not in self.watchable:
            known = ", ".join(escape(n) for n in sorted(self.watchable)) or "none"
            return (
                f"No Teams incident target has channel '{shown}' (incidents.targets; Teams "
                f"channel names there: {known})."
            )
        listed = user in self.responders.everywhere(self.brand_names)  # never the open default
        refused, before = await self._bind(activity, name, may_move=listed)
        here = _channel_of(activity)
        if refused:
            logger.warning(
                "teams: %s (tenant %s) may not move channel name %r from %s: %s",
                user,
                _tenant(activity) or "unknown",
                name,
                before,
                refused,
            )
            return self._not_movable(name) if refused == NOT_LISTED else _foreign(name)
        if before and before != here:
            logger.warning(
                "teams: channel name %r moved from %s to %s by %s", name, before, here, user
            )
        elif not before:
            logger.info("teams: channel name %r bound to %s by %s", name, here, user)
        return f"This channel is now '{escape(name)}': incident targets naming it post here."

    async def _bind(self, activity: Activity, name: str, *, may_move: bool) -> tuple[str, str]:
        """Bind ``name`` to this conversation unless it is bound to another one and may not
        move (``may_move`` false, or another organisation's channel), checked and written at
        once; why it was not bound ("" when bound: NOT_LISTED or FOREIGN), and the
        conversation it was bound to before ("" when none)."""
        tenant = _tenant(activity).lower()
        reference = TurnContext.get_conversation_reference(activity).serialize()
        if tenant:  # kept to compare with a later move (botbuilder 4.17 drops "tenantId")
            reference["conversation"] = {**reference.get("conversation", {}), "tenantId": tenant}
        here, shown = _channel_of(activity), _channel_name(activity)

        def bind(db: sqlite_utils.Database) -> tuple[str, str]:
            stored = load_reference(db, PLATFORM, name)
            before = _conversation_of(stored)
            if before and before != here:
                bound_tenant = _reference_tenant(stored).lower()
                if bound_tenant and tenant != bound_tenant and not self._ours(tenant):
                    return FOREIGN, before
                if not may_move:
                    return NOT_LISTED, before
            # saved again even when unchanged: the only way to refresh the copy kept under the
            # name (a changed serviceUrl, a renamed channel)
            save_reference(db, PLATFORM, name, reference, shown)
            return "", before

        refused, before = await self.writer.run(bind, urgent=True)
        if not refused and not before and self.on_reference is not None:
            await self.on_reference()
        return refused, before

    def _ours(self, tenant: str) -> bool:
        """Whether ``tenant`` is the organisation platforms.teams.tenant_id names."""
        return bool(self.tenant) and tenant == self.tenant

    def _not_movable(self, name: str) -> str:
        """Why ``name``, bound to another channel, stays there: who can move it."""
        who = self.responders.everywhere(self.brand_names)
        named = ", ".join(escape(self.people.name(user)) for user in who[:5]) or (
            "nobody is listed yet (while nobody is, anyone may act on incidents, but not take "
            "their cards away from the channel they post in)"
        )
        more = f" and {len(who) - 5} more" if len(who) > 5 else ""
        return (
            f"'{escape(name)}' already posts in another channel, with the cards of every brand: "
            'only a responder of every brand (listed under "*" in '
            f"platforms.teams.responders, or for each brand) can move it: {named}{more}."
        )

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        activity = turn_context.activity
        if activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)
        try:
            action = parse_invoke(activity.value)
        except InvalidAction as error:
            return _message(f"That button is not from Vigie, or is too old to use: {error}")
        try:
            message, card = await self._act(action, entra_id_of(activity), _channel_of(activity))
        except Exception:
            logger.exception("teams: %s failed", action.verb)
            return _message(FAILED)
        if card is None:
            return _message(message)
        # the model, not a dict: botbuilder would serialise a dict twice (HTTP 500)
        body = AdaptiveCardInvokeResponse(status_code=200, type=CONTENT_TYPE, value=card)
        return InvokeResponse(status=200, body=body)

    async def _act(
        self, action: TeamsAction, user: str, conversation: str
    ) -> tuple[str, dict[str, Any] | None]:
        """Do what the click, made in ``conversation`` (its id, without a thread's
        ";messageid="), asks; what to tell the clicker (plain text, people named), and the card
        to show (None when the click changed nothing, so the card stays as it is). An incident's
        buttons act only in a conversation its card was posted in: anywhere else, the click is
        forged (an id typed into a chat), whoever may act."""
        if not user:
            return NO_ENTRA_ID, None
        if action.verb.on_draft:
            return await self._decide(action, user)
        if await self.drafts.from_elsewhere(action.install):
            return INCIDENT_ELSEWHERE, None
        incident_id = action.incident or 0
        if conversation not in await self._card_conversations(incident_id):
            logger.warning(
                "teams: %s clicked %s on incident %d in %s, where its card is not",
                user,
                action.verb.value,
                incident_id,
                conversation[:100],
            )
            return NOT_HERE.format(incident=incident_id), None
        brand = await self.incidents.brand_of(incident_id)
        if brand is None:
            return f"Incident #{incident_id} no longer exists.", None
        if not await self.responders.may_act(user, brand):
            name = self.brand_names.get(brand, brand)
            return f"Only {name}'s responders can do that (platforms.teams.responders).", None
        result = await self._incident_action(action, incident_id, user)
        message = self.people.named(result.message)  # written with ids ("acknowledged by 5b1c…")
        if action.verb is Verb.SILENCE:
            return message, None  # the card shows no silence: it stays as it is
        card = await self._incident_card(incident_id)
        if result.ok or card is None:
            return message, card
        # refused because the card is out of date ("already acknowledged by…"): show it as
        # it is now, saying why, as a draft's card is
        return message, with_notice(card, message)

    async def _incident_action(
        self, action: TeamsAction, incident_id: int, user: str
    ) -> ActionResult:
        control = self.incidents
        match action.verb:
            case Verb.ACK:
                return await control.acknowledge(incident_id, user)
            case Verb.UNACK:
                return await control.unacknowledge(incident_id, user)
            case Verb.SNOOZE:
                return await control.snooze(incident_id, user, action.minutes or 60)
            case Verb.RESOLVE:
                return await control.resolve(incident_id, user)
            case Verb.REOPEN:
                return await control.reopen(incident_id, user)
            case Verb.SILENCE:
                return await control.silence_topic(incident_id, user, 24)
        return ActionResult(False, "Vigie does not know that button.")

    async def _decide(self, action: TeamsAction, user: str) -> tuple[str, dict[str, Any] | None]:
        draft_id = action.draft or 0
        if await self.drafts.from_elsewhere(action.install):
            return ELSEWHERE, None
        found = await self.drafts.find(draft_id)
        if found is None:
            return f"Draft {draft_id} no longer exists.", None
        brand = found[0].brand
        verb = action.verb.value.rsplit(".", 1)[-1]
        if not await self.approvers.may_act(user, brand):
            why = "not an approver of " + brand
            await self.drafts.refused(draft_id, user, verb, why, _typed(action))
            name = self.brand_names.get(brand, brand)
            return (
                f"Only {name}'s approvers can decide on drafts (platforms.teams.approvers).",
                None,
            )
        draft = found[0]
        if _decidable(draft) and action.version not in (None, draft.version):
            why = _stale(draft, self.people.name)
            await self.drafts.refused(draft_id, user, verb, why, _typed(action))
            return why, await self._refreshed(action, draft.set_id, why)
        unsaved = _unsaved_edit(action, draft.text) if _decidable(draft) else ""
        if unsaved:
            return unsaved, None
        control, person = self.drafts, self.people.name
        if action.verb is Verb.EDIT:
            outcome = await control.edit(draft_id, action.version, user, action.text or "", person)
        elif action.verb is Verb.REJECT:
            reason = action.reason or ""
            outcome = await control.reject(draft_id, action.version, user, reason, person)
        elif action.verb is Verb.RETRY:
            outcome = await control.retry(draft_id, user, person)
        else:
            outcome = await control.approve(draft_id, action.version, user, person)
        if outcome.ok:
            return outcome.message, await self._drafts_card(draft.set_id)
        if await self._out_of_date(action):
            return outcome.message, await self._refreshed(action, draft.set_id, outcome.message)
        return outcome.message, None  # the card is current: keep what was typed in it

    async def _refreshed(self, action: TeamsAction, set_id: int, why: str) -> dict[str, Any] | None:
        """The drafts card as it is now, saying why the click was refused, and keeping what the
        clicker typed (a new text, a reason): nothing typed is lost."""
        card = await self._drafts_card(set_id)
        if card is None:
            return None
        why = self.people.named(why)
        typed = action.text if action.verb is Verb.EDIT else action.reason
        if action.verb not in KEPT or not typed:
            return with_notice(card, why)
        return await self._keeping(card, action, typed, why)

    async def _keeping(
        self, card: dict[str, Any], action: TeamsAction, typed: str, why: str
    ) -> dict[str, Any]:
        """``card`` answering a refused Save edit or Reject: ``typed`` in the draft's box, whose
        buttons carry the version now stored, so that clicking again acts on it (an edit's box
        with the text saved meanwhile above it), else, the draft decided meanwhile, shown to
        copy."""
        draft_id = action.draft or 0
        found = await self.drafts.find(draft_id)
        kept = None
        if found is not None and _decidable(found[0]) and action.verb is Verb.EDIT:
            draft = found[0]
            editor = self.people.name(draft.edited_by) if draft.edited_by else "someone"
            theirs = saved_version(editor, draft.text)
            kept = with_input_value(card, text_input(draft_id), typed, theirs)
        elif found is not None and _decidable(found[0]):
            kept = with_input_value(card, reason_input(draft_id), typed)
        if kept is not None:
            return with_notice(kept, f"{why} {KEPT[action.verb]}")
        return with_typed_copy(card, f"{why} {NOT_KEPT[action.verb]}", typed)

    async def _out_of_date(self, action: TeamsAction) -> bool:
        """Whether the clicked card shows the draft as it no longer is (another version, or
        decided meanwhile): its buttons are refreshed."""
        found = await self.drafts.find(action.draft or 0)
        if found is None:
            return False
        draft = found[0]
        return not _decidable(draft) or action.version not in (None, draft.version)

    async def _card_conversations(self, incident_id: int) -> set[str]:
        """The conversations the incident's card was posted in (the alerts table keeps each
        card's thread and message ids)."""
        return await self.writer.run(partial(_posted_in, incident_id=incident_id), urgent=True)

    async def _incident_card(self, incident_id: int) -> dict[str, Any] | None:
        """The incident's card as it is now, or None (no such incident, or it could not be
        rendered: the click is answered with its message, and the error logged)."""
        try:
            return await self._render_incident(incident_id)
        except Exception:
            logger.exception("teams: incident %d's card could not be made", incident_id)
            return None

    async def _render_incident(self, incident_id: int) -> dict[str, Any] | None:
        incident = await self.writer.run(
            partial(get_incident, incident_id=incident_id), urgent=True
        )
        if incident is None:
            return None
        card = card_of(incident, self.brand_names.get(incident.brand, incident.brand))
        card["install"] = await self.drafts.install()  # as the outbox's cards are stamped
        return incident_adaptive_card(card, self.people.name)

    async def _drafts_card(self, set_id: int) -> dict[str, Any] | None:
        """The drafts card as it is now, or None (no such set, or it could not be rendered: the
        click is answered with its message, and the error logged)."""
        try:
            return await self._render_drafts(set_id)
        except Exception:
            logger.exception("teams: drafts card %d could not be made", set_id)
            return None

    async def _render_drafts(self, set_id: int) -> dict[str, Any] | None:
        def read(db: sqlite_utils.Database) -> dict[str, Any] | None:
            drafts = store.get_set(db, set_id)
            if drafts is None:
                return None
            name = self.brand_names.get(drafts.brand, drafts.brand)
            return drafts_card(drafts, store.drafts_in(db, set_id), name, store.install_id(db))

        card = await self.writer.run(read, urgent=True)
        return drafts_adaptive_card(card, self.people.name) if card is not None else None


def _posted_in(db: sqlite_utils.Database, incident_id: int) -> set[str]:
    """The conversations (channel ids, without a thread's ";messageid=") where the incident's
    Teams card was posted: its alerts rows' refs are "<thread> <message id>"."""
    rows = db.execute(
        "SELECT ref FROM alerts WHERE incident_id = ? AND platform = ?", [incident_id, PLATFORM]
    )
    return {str(ref).split(" ", 1)[0].split(";")[0] for (ref,) in rows if ref}


def _foreign(name: str) -> str:
    """Why ``name`` stays in the channel of another Microsoft 365 organisation."""
    return (
        f"'{escape(name)}' already posts in a channel of another Microsoft 365 organisation: "
        "Vigie does not move its cards into another organisation from a chat. Its operator can, "
        "by setting platforms.teams.tenant_id to the directory id of the organisation whose "
        "channels should get them."
    )


def _tenant(activity: Activity) -> str:
    """The organisation ``activity`` comes from (see :func:`tenant_of`), or ""."""
    conversation = getattr(activity.conversation, "tenant_id", None)
    return tenant_of(
        {"channelData": activity.channel_data, "conversation": {"tenantId": conversation}}
    )


def _reference_tenant(reference: Mapping[str, Any] | None) -> str:
    """The organisation a name's stored reference posts in, or "" (unknown: bound before
    Vigie kept it)."""
    conversation = (reference or {}).get("conversation")
    return str(conversation.get("tenantId") or "") if isinstance(conversation, dict) else ""


def _decidable(draft: Draft) -> bool:
    """Whether the draft's card has buttons that decide: waiting, or failed to publish."""
    return draft.state.open or draft.state is DraftState.FAILED


def _stale(draft: Draft, name: Callable[[str], str]) -> str:
    """The refusal of a click on a card showing an older version of ``draft`` (the words of
    bot.drafts.rules, whose check Retry does not make)."""
    editor = name(draft.edited_by) if draft.edited_by else "someone"
    return f"{editor} edited this draft after you opened it; read the new text and decide again."


def _unsaved_edit(action: TeamsAction, saved: str) -> str:
    """What to answer when the click would publish the saved text while the text box holds
    another one (an edit not saved yet), else ""."""
    changed = action.text is not None and action.text.strip() != saved.strip()
    return UNSAVED.get(action.verb, "") if changed else ""


def _save(db: sqlite_utils.Database, channel: str, reference: dict[str, Any], name: str) -> bool:
    """Keep the reference; True when Vigie could not post there before."""
    known = load_reference(db, PLATFORM, channel) is not None
    save_reference(db, PLATFORM, channel, reference, name)
    return not known


def _conversation_of(reference: Mapping[str, Any] | None) -> str:
    """The conversation a stored reference posts in, without a thread's ";messageid=" ("" for
    none)."""
    conversation = (reference or {}).get("conversation")
    return str(conversation.get("id") or "").split(";")[0] if isinstance(conversation, dict) else ""


def _channel_data(activity: Activity) -> dict[str, Any]:
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    channel = data.get("channel")
    return channel if isinstance(channel, dict) else {}


def _channel_of(activity: Activity) -> str:
    """The conversation's own id: a channel's ("19:…@thread.tacv2", without a thread's
    ";messageid="), a group chat's or a personal chat's. Never ``channelData.channel.id``: in
    a channel event (channelCreated, channelRenamed…) that is the channel the event is about,
    while the conversation, the only place the reference can post, is the team's General."""
    return str(activity.conversation.id).split(";")[0]


def _channel_name(activity: Activity) -> str:
    channel = _channel_data(activity)
    if str(channel.get("id") or "") == _channel_of(activity):
        return str(channel.get("name") or "")
    return str(activity.conversation.name or "")


def _in_channel(activity: Activity) -> bool:
    """Whether the activity comes from a team's channel (not a group or personal chat)."""
    kind = getattr(activity.conversation, "conversation_type", None)
    return kind == "channel" and bool(_channel_data(activity).get("id"))


class _MessageInvokeResponse(AdaptiveCardInvokeResponse):  # type: ignore[misc]
    """An Action.Execute answer that is a text for the clicker: botbuilder's model types
    ``value`` as an object, which msrest cannot serialise from a string."""

    _attribute_map: ClassVar[dict[str, dict[str, str]]] = {
        **AdaptiveCardInvokeResponse._attribute_map,
        "value": {"key": "value", "type": "str"},
    }


def _message(text: str) -> InvokeResponse:
    body = _MessageInvokeResponse(status_code=200, type=MESSAGE, value=text)
    return InvokeResponse(status=200, body=body)


def teams_route(
    adapter: CloudAdapter, bot: VigieTeamsBot, tenant: str = "", *, emulator: bool = False
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """``POST /api/messages``: botbuilder's processing, with every token problem answered 401
    (botbuilder lets an expired or badly signed token escape as a 500). Vigie's own token being
    refused while it answers (an expired client secret) is logged as an error and answered 500:
    botbuilder would answer it 401, as if the request were forged. With ``tenant``, an activity
    from any other Microsoft 365 organisation is refused (403): a multi-tenant app can be
    installed anywhere, and its token proves only that Teams sent it. Only Teams' own channel
    (``msteams``) is served (403 for any other): on Direct Line or Web Chat the client chooses
    the sender's ids itself; with ``emulator`` (no app id: nothing is authenticated anyway) the
    Bot Framework Emulator's channel too."""
    channels = {"msteams", "emulator"} if emulator else {"msteams"}

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            activity = await request.json()
        except (ValueError, RecursionError):  # not JSON, or nested too deep to read
            activity = None
        if not isinstance(activity, dict):  # botbuilder would fail on it before the token
            return web.json_response({"error": "the body is not a JSON activity"}, status=400)
        channel = str(activity.get("channelId") or "")
        if channel not in channels:
            logger.info("teams: activity from channel %r refused (only msteams)", channel[:64])
            return web.json_response({"error": "only Microsoft Teams is served"}, status=403)
        if tenant and tenant_of(activity).lower() != tenant.lower():
            logger.warning("teams: activity from tenant %r refused", tenant_of(activity)[:64])
            return web.json_response({"error": "this bot serves another tenant"}, status=403)
        try:
            response = await adapter.process(request, bot)
        except Exception as error:
            own = _own_token_failure(error)
            if isinstance(own, PermissionError):
                logger.error(OUTBOUND_REFUSED, own)
            elif own is not None:
                logger.error(OUTBOUND_FAILED, type(own).__name__, own)
            if own is not None:
                return web.json_response({"error": "the bot cannot get a token"}, status=500)
            if not _refused_token(error):
                raise
            logger.info("teams: request refused: %s", type(error).__name__)
            return web.json_response({"error": "unauthorized"}, status=401)
        return response if response is not None else web.Response(status=201)

    return handle


def tenant_of(activity: Mapping[str, Any]) -> str:
    """The Microsoft 365 organisation an activity comes from (``channelData.tenant.id``, else
    ``conversation.tenantId``), or ""."""
    data, conversation = activity.get("channelData"), activity.get("conversation")
    tenant = data.get("tenant") if isinstance(data, dict) else None
    if isinstance(tenant, dict) and tenant.get("id"):
        return str(tenant["id"])
    if isinstance(conversation, dict) and conversation.get("tenantId"):
        return str(conversation["tenantId"])
    return ""


_AUTH = "botframework/connector/auth/"


def _own_token_failure(error: BaseException) -> BaseException | None:
    """What failed while Vigie got its own token to answer (``get_access_token``: Microsoft
    Entra refused the app id and secret, a PermissionError, or could not be reached), which
    botbuilder would answer 401 as if the request were forged; None for anything else, such
    as the request's own token being refused."""
    seen: BaseException | None = error
    for _ in range(8):  # the error, then what it was raised from or while handling
        if seen is None:
            break
        if isinstance(seen, OwnTokenUnavailable) or any(
            _getting_own_token(f) for f in traceback.extract_tb(seen.__traceback__)
        ):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _getting_own_token(frame: traceback.FrameSummary) -> bool:
    path = frame.filename.replace("\\", "/")
    return frame.name == "get_access_token" or (
        _AUTH in path and path.endswith("app_credentials.py")
    )


def _refused_token(error: Exception) -> bool:
    """Whether ``error`` is botbuilder refusing the request's token: a PermissionError or a JWT
    error, or anything else its token validation raised (an unknown key: IndexError; ``alg:
    none``: a bare Exception; no header: AttributeError)."""
    if isinstance(error, PermissionError | jwt.PyJWTError):
        return True
    return any(_validating(f) for f in traceback.extract_tb(error.__traceback__))


def _validating(frame: traceback.FrameSummary) -> bool:
    """Whether ``frame`` is botbuilder checking an inbound request's token."""
    path = frame.filename.replace("\\", "/")
    if _AUTH not in path:
        return False
    module = path.rsplit("/", 1)[-1]
    return (
        module == "jwt_token_extractor.py"
        or module.endswith("_validation.py")
        or "authenticate" in frame.name
        or "validat" in frame.name
    )


def _typed(action: TeamsAction) -> str:
    """What the clicker had in the card, for the decision log of a refusal: the reason of a
    Reject, else the draft's text box (what they approved, or the edit they saved)."""
    if action.verb is Verb.REJECT:
        return " ".join((action.reason or "").split())
    return (action.text or "").strip()
