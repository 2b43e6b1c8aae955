"""Clicks on Vigie's Teams cards, parsed into what to do (pure; no botbuilder).

A button is an ``Action.Execute`` (Universal Actions). Teams answers a click with an ``invoke``
activity named ``adaptiveCard/action`` whose ``value`` is, in a real capture (microsoft/teams.net:
core/test/Microsoft.Teams.Bot.Apps.UnitTests/TeamsActivityTests.cs, ``jsonInvoke``)::

    {"action": {"type": "Action.Execute", "title": "Submit Feedback",
                "data": {"feedback": "test invokes"}},
     "trigger": "manual"}

``data`` is the action's own ``data`` with the card's input values merged in, each under its
input's ``id`` and always as a string (``feedback`` above is an ``Input.Text``). The inputs
merged are those of the card the button is on and, for a button inside an ``Action.ShowCard``,
of its parent cards; ``verb`` is the action's verb. ``trigger`` is ``"automatic"`` only for
``refresh``, which Vigie does not use. So a Snooze click on incident 7 arrives as::

    {"action": {"type": "Action.Execute", "verb": "vigie.snooze", "title": "Snooze",
                "data": {"incident": 7, "install": "3f9a0c1e", "snooze_minutes": "60"}},
     "trigger": "manual"}

and a Save on draft 12 (version 3) as ``{"verb": "vigie.draft.edit", "data": {"draft": 12,
"version": 3, "text-12": "the new text", "text-13": "…", …}}``: every draft's text box comes
along, and only the clicked draft's is read. A card's data names the incident or draft, and
the database that posted it (``install``; absent on older cards), and nothing else: a click
reloads it from storage, and a button of a database since started afresh acts on nothing.

Old Teams clients that cannot run ``Action.Execute`` use the ``Action.Submit`` fallback each
button carries: a ``message`` activity whose ``value`` is the same data plus ``"verb"``
(:func:`parse_submit`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Verb(StrEnum):
    ACK = "vigie.ack"
    UNACK = "vigie.unack"
    SNOOZE = "vigie.snooze"
    RESOLVE = "vigie.resolve"
    REOPEN = "vigie.reopen"
    SILENCE = "vigie.silence"
    APPROVE = "vigie.draft.approve"
    EDIT = "vigie.draft.edit"
    REJECT = "vigie.draft.reject"
    RETRY = "vigie.draft.retry"

    @property
    def on_draft(self) -> bool:
        return self.value.startswith("vigie.draft.")


SNOOZE_INPUT = "snooze_minutes"
SNOOZE_MINUTES = (30, 60, 240, 1440)
MAX_ID = 2**53 - 1  # the largest integer JSON carries exactly
MAX_TEXT = 20_000  # twice Reddit's 10,000: longer is not a draft, whatever the platform
MAX_REASON = 1_000


def text_input(draft_id: int) -> str:
    """The id of a draft's text box on the drafts card."""
    return f"text-{draft_id}"


def reason_input(draft_id: int) -> str:
    """The id of a draft's "why reject" box (inside its Reject show-card)."""
    return f"reason-{draft_id}"


class InvalidAction(ValueError):
    """An invoke value that is not a click on one of Vigie's cards (or is tampered with)."""


@dataclass(frozen=True, slots=True)
class TeamsAction:
    """One click. ``incident`` is set for incident verbs, ``draft`` and ``version`` for draft
    verbs; ``minutes`` for a snooze; ``text`` for an edit (the new text) and for an approval
    or a retry (what the text box held then, if it came along: differing from the stored text
    means an unsaved edit); ``reason`` for a rejection ("" when none was typed)."""

    verb: Verb
    incident: int | None = None
    draft: int | None = None
    version: int | None = None
    minutes: int | None = None
    text: str | None = None
    reason: str | None = None
    install: str | None = None  # the database the card was posted by (absent on older cards)


def parse_invoke(activity_value: Any) -> TeamsAction:
    """The click an ``adaptiveCard/action`` invoke value describes; InvalidAction otherwise."""
    value = _mapping(activity_value, "the invoke value")
    trigger = value.get("trigger", "manual")
    if trigger != "manual":
        raise InvalidAction(f"trigger {_show(trigger)} is not a click (Vigie uses no refresh)")
    action = _mapping(value.get("action"), "value.action")
    if action.get("type") != "Action.Execute":
        raise InvalidAction(f"action type {_show(action.get('type'))} is not Action.Execute")
    return _parse(action.get("verb"), _mapping(action.get("data"), "action.data"))


def parse_submit(message_value: Any) -> TeamsAction:
    """The click an ``Action.Submit`` fallback sent as a message's ``value`` (data + "verb")."""
    data = _mapping(message_value, "the message value")
    return _parse(data.get("verb"), data)


def _parse(raw_verb: Any, data: Mapping[str, Any]) -> TeamsAction:
    verb = _verb(raw_verb)
    install = _install(data.get("install"))
    if not verb.on_draft:
        incident = _id(data, "incident")
        minutes = _minutes(data.get(SNOOZE_INPUT)) if verb is Verb.SNOOZE else None
        return TeamsAction(verb, incident=incident, minutes=minutes, install=install)
    draft, version = _id(data, "draft"), _id(data, "version")
    text = reason = None
    if verb is Verb.EDIT:
        text = _text(data.get(text_input(draft)), text_input(draft), required=True)
    elif verb in (Verb.APPROVE, Verb.RETRY):
        text = _text(data.get(text_input(draft)), text_input(draft), required=False)
    elif verb is Verb.REJECT:
        reason = _reason(data.get(reason_input(draft)), reason_input(draft))
    return TeamsAction(
        verb, draft=draft, version=version, text=text, reason=reason, install=install
    )


_INSTALL = re.compile(r"[0-9a-f]{1,32}")


def _install(value: Any) -> str | None:
    """The database a button names (None on cards posted before buttons named one)."""
    if value is not None and not (isinstance(value, str) and _INSTALL.fullmatch(value)):
        raise InvalidAction(f"install {_show(value)} is not a database id")
    return value


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidAction(f"{what} should be an object, not {type(value).__name__}")
    return value


def _show(value: Any) -> str:
    """A value as an error message may quote it: short, whatever it is."""
    if not isinstance(value, str | int | float | bool | None):
        return f"a {type(value).__name__}"
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a huge number"
    return text if len(text) <= 60 else text[:57] + "..."


def _verb(value: Any) -> Verb:
    try:
        return Verb(value)
    except ValueError:
        raise InvalidAction(f"unknown verb {_show(value)}") from None


def _id(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAction(f"{key} should be a whole number, not {_show(value)}")
    if not 1 <= value <= MAX_ID:
        raise InvalidAction(f"{key} is out of range (1 to {MAX_ID})")
    return value


def _minutes(value: Any) -> int:
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        minutes: Any = int(value.strip()[:8])
    else:
        minutes = value
    if isinstance(minutes, bool) or minutes not in SNOOZE_MINUTES:
        choices = ", ".join(str(m) for m in SNOOZE_MINUTES)
        raise InvalidAction(f"snooze minutes {_show(value)} is not one of {choices}")
    return int(minutes)


def _text(value: Any, key: str, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise InvalidAction(f"{key} should be text, not {_show(value)}")
    if len(value) > MAX_TEXT:
        raise InvalidAction(f"{key} is {len(value):,} characters; at most {MAX_TEXT:,}")
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    if required and not text.strip():
        raise InvalidAction("the new text is empty")
    return text


def _reason(value: Any, key: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidAction(f"{key} should be text, not {_show(value)}")
    if len(value) > MAX_REASON:
        raise InvalidAction(f"{key} is {len(value):,} characters; at most {MAX_REASON:,}")
    return " ".join(value.split())
