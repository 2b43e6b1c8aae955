"""Slack listeners for reply drafts: Approve, Edit (a modal with a live count), Reject (a modal
asking why) and Retry. Every click acks first, reloads the draft, checks that the clicker is
one of the brand's approvers, then calls the platform-neutral :class:`DraftControl`."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.drafts import rules
from bot.drafts.cards import drafts_card
from bot.drafts.control import ELSEWHERE, DraftControl
from bot.drafts.model import Draft, DraftState
from bot.drafts.rules import Outcome
from handlers.slack.answers import say_privately
from handlers.slack.platform import error_code
from handlers.slack.render import person
from handlers.slack.render_drafts import (
    APPROVE,
    EDIT,
    EDIT_VIEW,
    REASON_BLOCK,
    REASON_INPUT,
    REJECT,
    REJECT_VIEW,
    RETRY,
    SAVED_BY,
    TEXT_BLOCK,
    TEXT_INPUT,
    edit_view,
    reject_view,
)
from handlers.slack.responders import SlackResponders

logger = logging.getLogger(__name__)

_VALUE = re.compile(r"^([0-9]{1,15}):([0-9]{1,9})(?::([0-9a-f]{1,32}))?$")
"""A draft button's value: draft id, version and the database's own id (absent on buttons
posted before it was carried)."""
_METADATA = re.compile(
    r"^([0-9]{1,15}):([0-9]{1,9}):([A-Z0-9]*)(?::([0-9]{1,12}\.[0-9]{1,9}))?(?:@([0-9a-f]{1,32}))?$"
)
"""A modal's ``private_metadata``: draft id, version, channel, the thread of the drafts message
and the database's own id (the last two absent in modals opened before they were carried)."""


def _metadata(draft_id: int, version: int, where: str, install: str) -> str:
    return f"{draft_id}:{version}:{where}" + (f"@{install}" if install else "")


MODAL_DEADLINE = 2.5
"""Seconds a modal's submission may take before it is answered "Submit again": Slack waits 3 s
for the answer, then shows the person an error and keeps the modal open."""
TYPING_VIEWS = 256  # Edit modals whose latest keystroke is remembered, the oldest dropped

Ack = Callable[..., Awaitable[Any]]
Say = Callable[[str], Awaitable[None]]


def _name(user: str) -> str:
    return person(user, notify_safe=True)  # in an answer to one person: no notification


class SlackDraftActions:
    def __init__(
        self, control: DraftControl, approvers: SlackResponders, brand_names: dict[str, str]
    ) -> None:
        self.control = control
        self.approvers = approvers
        self.brand_names = brand_names
        self.deadline = MODAL_DEADLINE
        self._typing: OrderedDict[str, _Typing] = OrderedDict()

    def register(self, app: AsyncApp) -> None:
        app.action(re.compile(f"^({APPROVE}|{EDIT}|{REJECT}|{RETRY})$"))(self.click)
        app.action(TEXT_INPUT)(self.typed)
        app.view(EDIT_VIEW)(self.edited)
        app.view(REJECT_VIEW)(self.rejected)

    async def click(
        self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()

        async def say(text: str) -> None:
            await say_privately(respond, client, body, text)

        action = body["actions"][0]
        user = str(body["user"]["id"])
        parsed = _VALUE.match(str(action.get("value", "")))
        if parsed is None:
            await say("That button is not from Vigie, or is too old to use.")
            return
        draft_id, version = int(parsed[1]), int(parsed[2])
        if await self.control.from_elsewhere(parsed[3]):
            await say(ELSEWHERE)
            return
        action_id = str(action["action_id"])
        modal = action_id in (EDIT, REJECT)  # its trigger_id opens a modal for 3 s only
        draft = await self._allowed(draft_id, user, action_id, say, soon=modal)
        if draft is None:
            return
        try:
            if modal:
                await self._open(client, body, draft, version, action_id, say)
                return
            if action_id == RETRY:
                outcome = await self._retry(draft, version, user)
            else:
                outcome = await self.control.approve(draft_id, version, user, _name)
        except Exception:
            logger.exception("slack: %s on draft %d failed", action_id, draft_id)
            await say(_FAILED)
            return
        if not outcome.ok:
            await say(outcome.message)

    async def _retry(self, draft: Draft, version: int, user: str) -> Outcome:
        """Retry publishes the text as stored: from a button older than the stored text (edited,
        approved and failed again since), it would publish words the clicker has not read."""
        if draft.state is DraftState.FAILED and version != draft.version:
            editor = _name(draft.edited_by) if draft.edited_by else "someone"
            why = f"{editor} {_EDITED_SINCE}"
            await self.control.refused(draft.id, user, "retry", why)
            return Outcome(False, why)
        return await self.control.retry(draft.id, user, _name)

    async def typed(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """A character typed in the Edit modal: refresh the count against the limit.

        Keystrokes come faster than Slack updates the view, each with the view's hash as the
        person's Slack last had it: the count follows the latest keystroke only (an older one
        arriving late, or still waiting when a newer one came, updates nothing) and is sent
        without the hash (only Vigie updates this modal; the block and action ids are the
        same, so Slack keeps what is typed)."""
        await ack()
        view = body.get("view") or {}
        parsed = _METADATA.match(str(view.get("private_metadata", "")))
        view_id, stamp = str(view.get("id") or ""), _stamp(body["actions"][0])
        typing = self._typed(view_id, stamp)
        if parsed is None or typing is None or await self.control.from_elsewhere(parsed[5]):
            return
        card = await self._card(int(parsed[1]))
        if card is None:
            return
        draft, target = card
        text = str(body["actions"][0].get("value") or "")
        shown = {block.get("block_id") for block in view.get("blocks") or []}
        saved_by = str(draft.get("edited_by") or "") if SAVED_BY in shown else ""
        async with typing.lock:  # one update of a view at a time, in the keystrokes' order
            if typing.latest != stamp:
                return  # a newer keystroke came meanwhile: its update counts
            try:
                await client.views_update(
                    view_id=view_id,
                    view=edit_view(draft, target, view["private_metadata"], text, saved_by),
                )
            except SlackApiError as error:  # the modal closed meanwhile, say
                logger.debug(
                    "slack: count not refreshed: %s",
                    error_code(error) or error.response.status_code,
                )

    def _typed(self, view_id: str, stamp: Decimal) -> _Typing | None:
        """The view's typing record with ``stamp`` as its latest keystroke; None when a newer
        keystroke of that view was already seen."""
        typing = self._typing.get(view_id)
        if typing is None:
            typing = self._typing[view_id] = _Typing(stamp)
            while len(self._typing) > TYPING_VIEWS:
                self._typing.popitem(last=False)
        elif stamp < typing.latest:
            return None
        typing.latest = stamp
        self._typing.move_to_end(view_id)
        return typing

    async def edited(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """Answered within Slack's 3 s (see ``_in_time``)."""
        await self._in_time(ack, TEXT_BLOCK, lambda answer: self._edit(answer, body, view, client))

    async def rejected(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """Answered within Slack's 3 s (see ``_in_time``)."""
        await self._in_time(
            ack, REASON_BLOCK, lambda answer: self._reject(answer, body, view, client)
        )

    async def _in_time(
        self, ack: AsyncAck, block: str, work: Callable[[Ack], Coroutine[Any, Any, None]]
    ) -> None:
        """Run ``work(answer)``; when it has not answered the submission within ``deadline``,
        the modal stays open saying "Submit again". The work is not cancelled (a decision is
        never left half made): it goes on, its later answer dropped; what it tells the person
        afterwards (``_tell``) still reaches them."""
        answer = _FirstAnswer(ack)
        task = asyncio.create_task(work(answer))
        answered = asyncio.create_task(answer.given.wait())
        try:
            await asyncio.wait(
                {task, answered}, timeout=self.deadline, return_when="FIRST_COMPLETED"
            )
        finally:
            answered.cancel()
        if not answer.given.is_set():
            late = _FAILED if task.done() else _LATE
            await answer(response_action="errors", errors={block: _error(late)})
        try:
            await task
        except Exception:
            logger.exception("slack: a modal's submission failed")

    async def _edit(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """The refusal's log is written after the answer; the approvers' look-up is bounded
        (``may_act_soon``)."""
        parsed = _METADATA.match(str(view.get("private_metadata", "")))
        user = str(body["user"]["id"])
        if parsed is None:
            await ack()
            return
        draft_id, version, place = int(parsed[1]), int(parsed[2]), _Place(parsed[3], parsed[4])
        if await self.control.from_elsewhere(parsed[5]):
            await ack()
            await _tell(client, place, user, ELSEWHERE)
            return
        text = str(view["state"]["values"][TEXT_BLOCK][TEXT_INPUT].get("value") or "")
        problems = await self.control.problems(draft_id, text)
        if problems:
            await ack(response_action="errors", errors={TEXT_BLOCK: _error("; ".join(problems))})
            return
        draft = await self._may_submit(ack, client, place, draft_id, user, "edit", TEXT_BLOCK)
        if draft is None:
            return
        if draft.edited_by == user and draft.text == rules.saved_text(text):
            await ack()  # saved already: a second Save after Slack missed the first's answer
            return
        # saved before the modal closes: when it cannot be (someone saved another text since
        # the modal opened, the draft was decided or expired), the modal stays open with what
        # the person typed and says why, instead of closing on their text
        try:
            outcome = await self.control.edit(draft_id, version, user, text, _name)
        except Exception:
            logger.exception("slack: edit of draft %d failed", draft_id)
            await ack(response_action="errors", errors={TEXT_BLOCK: _error(_FAILED)})
            return
        if not outcome.ok:
            conflict = await self._saved_since(draft_id, version, text, parsed)
            if conflict is not None:
                await ack(response_action="update", view=conflict)
            else:
                await ack(response_action="errors", errors={TEXT_BLOCK: _error(outcome.message)})
            return
        await ack()
        await self._report(client, place, user, outcome)

    async def _may_submit(
        self,
        ack: Ack,
        client: AsyncWebClient,
        place: _Place,
        draft_id: int,
        user: str,
        action: str,
        block: str,
    ) -> Draft | None:
        """The draft as stored, when ``user`` may submit the modal; if not, None and the
        submission is answered (the refusal logged after the answer)."""
        found = await self.control.find(draft_id)
        if found is None:
            await ack()
            await _tell(client, place, user, f"Draft {draft_id} no longer exists.")
            return None
        draft, brand = found[0], found[0].brand
        may = await self.approvers.may_act_soon(user, brand)
        if may is None:  # the modal stays open with what was typed; nothing logged as refused
            await ack(response_action="errors", errors={block: _error(_SLOW + " Submit again.")})
            return None
        if not may:
            await ack()
            await self._refused(draft_id, user, action, brand)
            await _tell(client, place, user, self._refusal_text(brand))
            return None
        return draft

    async def _saved_since(
        self, draft_id: int, version: int, text: str, parsed: re.Match[str]
    ) -> View | None:
        """The modal again when someone saved another text since it opened (and the draft can
        still be edited): their text shown, the person's kept, the version now theirs."""
        card = await self._card(draft_id)
        if card is None:
            return None
        draft, target = card
        if draft["state"] not in ("proposed", "failed") or draft["version"] == version:
            return None
        where = f"{parsed[3]}:{parsed[4]}" if parsed[4] else parsed[3]
        metadata = _metadata(draft_id, draft["version"], where, parsed[5] or "")
        return edit_view(draft, target, metadata, text, str(draft.get("edited_by") or "someone"))

    async def _reject(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """Rejected before the modal closes: when that fails, the modal stays open with the
        reason typed, saying so."""
        parsed = _METADATA.match(str(view.get("private_metadata", "")))
        if parsed is None:
            await ack()
            return
        draft_id, version, place = int(parsed[1]), int(parsed[2]), _Place(parsed[3], parsed[4])
        user = str(body["user"]["id"])
        if await self.control.from_elsewhere(parsed[5]):
            await ack()
            await _tell(client, place, user, ELSEWHERE)
            return
        reason = str(view["state"]["values"][REASON_BLOCK][REASON_INPUT].get("value") or "")
        if not await self._may_submit(ack, client, place, draft_id, user, "reject", REASON_BLOCK):
            return
        try:
            outcome = await self.control.reject(draft_id, version, user, reason, _name)
        except Exception:
            logger.exception("slack: rejection of draft %d failed", draft_id)
            await ack(response_action="errors", errors={REASON_BLOCK: _error(_FAILED)})
            return
        await ack()
        await self._report(client, place, user, outcome)

    async def _open(
        self,
        client: AsyncWebClient,
        body: dict[str, Any],
        draft: Draft,
        version: int,
        action_id: str,
        say: Say,
    ) -> None:
        """The Edit or Reject modal, for a draft still waiting (or whose publishing failed).
        The Edit modal shows the draft's text as it is now (the clicked message may be older:
        the outbox paces its updates), so it carries that version, not the button's."""
        user, verb = str(body["user"]["id"]), action_id.rsplit("_", 1)[-1]
        if not (draft.state.open or draft.state is DraftState.FAILED):
            why = rules.already(draft, _name)
            await self.control.refused(draft.id, user, verb, why)
            await say(why)
            return
        where, install = _where(body), await self.control.install()
        if action_id == REJECT:
            view = reject_view(_metadata(draft.id, version, where, install))
        else:
            card = await self._card(draft.id)
            if card is None:
                await say(f"Draft {draft.id} no longer exists.")
                return
            shown, target = card
            view = edit_view(shown, target, _metadata(draft.id, shown["version"], where, install))
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    async def _card(self, draft_id: int) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The draft and its target as the drafts message shows them."""
        found = await self.control.find(draft_id)
        if found is None:
            return None
        draft, drafts = found
        card = drafts_card(drafts, [draft], self.brand_names.get(drafts.brand, drafts.brand))
        return card["drafts"][0], card["target"]

    async def _allowed(
        self, draft_id: int, user: str, action_id: str, say: Say, *, soon: bool
    ) -> Draft | None:
        """The draft as stored, when ``user`` may act on it; else None, and they are told why.
        ``soon``: the approvers' look-up is bounded (``SlackResponders.may_act_soon``)."""
        found = await self.control.find(draft_id)
        if found is None:
            await say(f"Draft {draft_id} no longer exists.")
            return None
        draft, brand = found[0], found[0].brand
        approvers = self.approvers
        may = await (approvers.may_act_soon if soon else approvers.may_act)(user, brand)
        if may is None:  # nothing logged as refused: they may well be an approver
            await say(_SLOW + " Click again.")
            return None
        if not may:
            await self._refused(draft_id, user, action_id.rsplit("_", 1)[-1], brand)
            await say(self._refusal_text(brand))
            return None
        return draft

    async def _refused(self, draft_id: int, user: str, action: str, brand: str) -> None:
        logger.info("slack: %s may not %s draft %d (%s)", user, action, draft_id, brand)
        await self.control.refused(draft_id, user, action, "not an approver of " + brand)

    def _refusal_text(self, brand: str | None = None) -> str:
        name = self.brand_names.get(brand, brand) if brand else "this brand"
        return (
            f"Only {name}'s approvers can decide on reply drafts "
            "(platforms.slack.approvers in app.yaml)."
        )

    async def _report(
        self, client: AsyncWebClient, place: _Place, user: str, outcome: Outcome
    ) -> None:
        if not outcome.ok or outcome.warning:
            await _tell(client, place, user, outcome.message)


_EDITED_SINCE = "edited this draft after you opened it; read the new text and decide again."
_SLOW = (
    "Slack did not confirm in time whether you are an approver (it is busy or failing); "
    "nothing was changed."
)
_LATE = "Vigie is slow to answer (busy): Submit again."
_FAILED = "Sorry, that did not work; nothing was changed. Try again."
_MODAL_ERROR_CHARACTERS = 150


_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


def _error(text: str) -> str:
    """A message under the modal's text box (plain text: a ``<@U…>`` would show as such),
    cut to what it shows."""
    text = _MENTION.sub("another approver", text)
    if len(text) <= _MODAL_ERROR_CHARACTERS:
        return text
    return text[: _MODAL_ERROR_CHARACTERS - 1].rstrip() + "…"


class _FirstAnswer:
    """A modal submission's answer: the first ``ack`` counts, later ones are dropped (Slack
    took only one, already given)."""

    def __init__(self, ack: AsyncAck) -> None:
        self._ack = ack
        self.given = asyncio.Event()

    async def __call__(self, **answer: Any) -> None:
        if self.given.is_set():
            return
        self.given.set()
        await self._ack(**answer)


@dataclass
class _Typing:
    """An Edit modal's latest keystroke (Slack's ``action_ts``) and its updates' turn."""

    latest: Decimal
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _stamp(action: dict[str, Any]) -> Decimal:
    """A keystroke's ``action_ts`` ("1717.000123"), comparable; 0 when unreadable."""
    try:
        stamp = Decimal(str(action.get("action_ts") or "0"))
    except InvalidOperation:
        return Decimal(0)
    return stamp if stamp.is_finite() else Decimal(0)


@dataclass(frozen=True, slots=True)
class _Place:
    """Where the drafts message a modal came from is: its channel and thread."""

    channel: str
    thread_ts: str | None


def _where(body: dict[str, Any]) -> str:
    """The clicked message's channel and thread, for the modal's ``private_metadata``."""
    container = body.get("container") or {}
    channel = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
    thread = container.get("thread_ts") or (body.get("message") or {}).get("thread_ts")
    return f"{channel}:{thread}" if thread and _THREAD.fullmatch(str(thread)) else channel


_THREAD = re.compile(r"[0-9]{1,12}\.[0-9]{1,9}")


async def _tell(client: AsyncWebClient, place: _Place, user: str, text: str) -> None:
    """Answer one person after a modal (which has no response URL), in the thread the drafts
    message is in: an ephemeral message in the channel would be out of its context."""
    if place.channel:
        await client.chat_postEphemeral(
            channel=place.channel, user=user, text=text, thread_ts=place.thread_ts
        )
    else:
        logger.info("slack: %s: %s", user, text)
