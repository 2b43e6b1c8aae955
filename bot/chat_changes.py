"""The chat commands that change an incident (``unack ID``, ``merge ID into ID``): the same
actions (``IncidentControl``) and the same responders check as the card buttons.

Answers are the action's own sentence ("#12 merged into #7"), or why it was refused."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.command_words import CommandError, Unreadable, at_most, incident_number
from bot.incidents.actions import ActionResult
from bot.incidents.control import IncidentControl

if TYPE_CHECKING:  # chat_commands imports this module: only its types are needed here
    from bot.chat_commands import AnswerStyle

MayAct = Callable[[str, str], Awaitable[bool]]  # (user, brand slug) -> allowed
UNACK_USAGE = "`unack ID`: which incident? For example `unack 12`"
MERGE_USAGE = "`merge ID into ID`, for example `merge 12 into 7`"


class IncidentCommands:
    def __init__(self, control: IncidentControl, may_act: MayAct, brands: dict[str, str]) -> None:
        self.control = control
        self.may_act = may_act
        self.brands = brands  # slug -> display name

    async def unack(self, words: list[str], user: str, style: AnswerStyle) -> str:
        at_most("unack", words, 1)
        number = incident_number(words[0]) if words else None
        if number is None:
            raise CommandError(UNACK_USAGE)
        refused = await self._refusal(user, number)
        if refused:
            return refused
        return answer(await self.control.unacknowledge(number, user), user, style)

    async def merge(self, words: list[str], user: str, style: AnswerStyle) -> str:
        at_most("merge", words, 3)
        if len(words) < 3 or words[1].casefold() != "into":
            raise Unreadable(MERGE_USAGE)
        source, target = incident_number(words[0]), incident_number(words[2])
        if source is None or target is None:
            raise CommandError(MERGE_USAGE)
        for number in dict.fromkeys((source, target)):
            refused = await self._refusal(user, number)
            if refused:
                return refused
        return answer(await self.control.merge(source, target, user), user, style)

    async def _refusal(self, user: str, number: int) -> str:
        """Why ``user`` cannot change incident ``number`` ("" when they can)."""
        brand = await self.control.brand_of(number)
        if brand is None:
            return f"No incident #{number}."
        if not await self.may_act(user, brand):
            return f"Only {self.brands.get(brand, brand)}'s responders can do that."
        return ""


def answer(result: ActionResult, user: str, style: AnswerStyle) -> str:
    """The action's sentence in the platform's markup, the people it names shown as people."""
    text = style.text(result.message)
    for who in dict.fromkeys(p for p in (*result.people, user) if p):
        written, shown = style.text(who), style.person(who)
        text = re.sub(rf"(?<!\w){re.escape(written)}(?!\w)", lambda _: shown, text)  # noqa: B023
    return text
