"""Slack listeners for reply drafts: Approve, Edit (a modal with a live count), Reject (a modal
asking why) and Retry. Every click acks first, reloads the draft, checks that the clicker is
one of the brand's approvers, then calls the platform-neutral :class:`DraftControl`."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.drafts.cards import drafts_card
from bot.drafts.control import ELSEWHERE, DraftControl
from bot.drafts.rules import Outcome
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
_METADATA = re.compile(r"^([0-9]{1,15}):([0-9]{1,9}):([A-Z0-9]*)(?::([0-9]{1,12}\.[0-9]{1,9}))?$")
"""A modal's ``private_metadata``: draft id, version, channel and the thread of the drafts
message (absent in modals opened before threads were carried)."""


def _name(user: str) -> str:
    return person(user, notify_safe=True)  # in an answer to one person: no notification


class SlackDraftActions:
    def __init__(
        self, control: DraftControl, approvers: SlackResponders, brand_names: dict[str, str]
    ) -> None:
        self.control = control
        self.approvers = approvers
        self.brand_names = brand_names

    def register(self, app: AsyncApp) -> None:
        app.action(re.compile(f"^({APPROVE}|{EDIT}|{REJECT}|{RETRY})$"))(self.click)
        app.action(TEXT_INPUT)(self.typed)
        app.view(EDIT_VIEW)(self.edited)
        app.view(REJECT_VIEW)(self.rejected)

    async def click(
        self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        action = body["actions"][0]
        user = str(body["user"]["id"])
        parsed = _VALUE.match(str(action.get("value", "")))
        if parsed is None:
            await _say(respond, "That button is not from Vigie, or is too old to use.")
            return
        draft_id, version = int(parsed[1]), int(parsed[2])
        if await self.control.from_elsewhere(parsed[3]):
            await _say(respond, ELSEWHERE)
            return
        action_id = str(action["action_id"])
        if not await self._allowed(draft_id, user, action_id, respond):
            return
        where = _where(body)
        metadata = f"{draft_id}:{version}:{where}"
        try:
            if action_id == APPROVE:
                outcome = await self.control.approve(draft_id, version, user, _name)
            elif action_id == RETRY:
                outcome = await self.control.retry(draft_id, user, _name)
            elif action_id == EDIT:
                await self._open_edit(client, body["trigger_id"], draft_id, where, respond)
                return
            else:
                await client.views_open(trigger_id=body["trigger_id"], view=reject_view(metadata))
                return
        except Exception:
            logger.exception("slack: %s on draft %d failed", action_id, draft_id)
            await _say(respond, _FAILED)
            return
        if not outcome.ok:
            await _say(respond, outcome.message)

    async def typed(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """A character typed in the Edit modal: refresh the count against the limit."""
        await ack()
        view = body.get("view") or {}
        parsed = _METADATA.match(str(view.get("private_metadata", "")))
        if parsed is None:
            return
        card = await self._card(int(parsed[1]))
        if card is None:
            return
        draft, target = card
        text = str(body["actions"][0].get("value") or "")
        shown = {block.get("block_id") for block in view.get("blocks") or []}
        saved_by = str(draft.get("edited_by") or "") if SAVED_BY in shown else ""
        try:
            await client.views_update(
                view_id=view["id"],
                hash=view.get("hash"),
                view=edit_view(draft, target, view["private_metadata"], text, saved_by),
            )
        except SlackApiError as error:  # typing faster than Slack updates: the next key counts
            logger.debug(
                "slack: count not refreshed: %s", error_code(error) or error.response.status_code
            )

    async def edited(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        parsed = _METADATA.match(str(view.get("private_metadata", "")))
        user = str(body["user"]["id"])
        if parsed is None:
            await ack()
            return
        draft_id, version, place = int(parsed[1]), int(parsed[2]), _Place(parsed[3], parsed[4])
        text = str(view["state"]["values"][TEXT_BLOCK][TEXT_INPUT].get("value") or "")
        problems = await self.control.problems(draft_id, text)
        if problems:
            await ack(response_action="errors", errors={TEXT_BLOCK: _error("; ".join(problems))})
            return
        if not await self._may(draft_id, user, "edit"):
            await ack()
            await _tell(client, place, user, self._refusal_text())
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
            conflict = await self._saved_since(draft_id, version, text, parsed[3], parsed[4])
            if conflict is not None:
                await ack(response_action="update", view=conflict)
            else:
                await ack(response_action="errors", errors={TEXT_BLOCK: _error(outcome.message)})
            return
        await ack()
        await self._report(client, place, user, outcome)

    async def _saved_since(
        self, draft_id: int, version: int, text: str, channel: str, thread: str | None
    ) -> View | None:
        """The modal again when someone saved another text since it opened (and the draft can
        still be edited): their text shown, the person's kept, the version now theirs."""
        card = await self._card(draft_id)
        if card is None:
            return None
        draft, target = card
        if draft["state"] not in ("proposed", "failed") or draft["version"] == version:
            return None
        where = f"{channel}:{thread}" if thread else channel
        metadata = f"{draft_id}:{draft['version']}:{where}"
        return edit_view(draft, target, metadata, text, str(draft.get("edited_by") or "someone"))

    async def rejected(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        parsed = _METADATA.match(str(view.get("private_metadata", "")))
        if parsed is None:
            return
        draft_id, version, place = int(parsed[1]), int(parsed[2]), _Place(parsed[3], parsed[4])
        user = str(body["user"]["id"])
        reason = str(view["state"]["values"][REASON_BLOCK][REASON_INPUT].get("value") or "")
        if not await self._may(draft_id, user, "reject"):
            await _tell(client, place, user, self._refusal_text())
            return
        outcome = await self.control.reject(draft_id, version, user, reason, _name)
        await self._report(client, place, user, outcome)

    async def _open_edit(
        self,
        client: AsyncWebClient,
        trigger_id: str,
        draft_id: int,
        where: str,
        respond: AsyncRespond,
    ) -> None:
        """The modal shows the draft's text as it is now (the clicked message may be older:
        the outbox paces its updates), so it carries that version, not the button's."""
        card = await self._card(draft_id)
        if card is None:
            await _say(respond, f"Draft {draft_id} no longer exists.")
            return
        draft, target = card
        if draft["state"] not in ("proposed", "failed"):
            await _say(respond, "This draft was already decided; see its message.")
            return
        metadata = f"{draft_id}:{draft['version']}:{where}"
        await client.views_open(trigger_id=trigger_id, view=edit_view(draft, target, metadata))

    async def _card(self, draft_id: int) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The draft and its target as the drafts message shows them."""
        found = await self.control.find(draft_id)
        if found is None:
            return None
        draft, drafts = found
        card = drafts_card(drafts, [draft], self.brand_names.get(drafts.brand, drafts.brand))
        return card["drafts"][0], card["target"]

    async def _allowed(self, draft_id: int, user: str, action: str, respond: AsyncRespond) -> bool:
        found = await self.control.find(draft_id)
        if found is None:
            await _say(respond, f"Draft {draft_id} no longer exists.")
            return False
        if not await self._may(draft_id, user, action.rsplit("_", 1)[-1], found[0].brand):
            await _say(respond, self._refusal_text(found[0].brand))
            return False
        return True

    async def _may(self, draft_id: int, user: str, action: str, brand: str | None = None) -> bool:
        if brand is None:
            found = await self.control.find(draft_id)
            if found is None:
                return False
            brand = found[0].brand
        if await self.approvers.may_act(user, brand):
            return True
        logger.info("slack: %s may not %s draft %d (%s)", user, action, draft_id, brand)
        await self.control.refused(draft_id, user, action, "not an approver of " + brand)
        return False

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


async def _say(respond: AsyncRespond, text: str) -> None:
    await respond(text=text, response_type="ephemeral", replace_original=False)


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
