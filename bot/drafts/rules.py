"""What people may decide about a draft, as pure functions: approve, edit, reject, retry.

Each returns an :class:`Outcome`: whether it happened, what to tell the person, the drafts that
changed and the decision-log rows. Who may decide at all (approvers per brand) is the chat
platform's to check; these rules are about the draft itself: it must still be open, be the
version the person saw, not have expired, and under the two-person rule not be their own edit.
A post gets one reply: approving a draft withdraws every open draft for the same post (in any
incident), and is refused while another draft for that post is approved. Every refusal is kept
in the decision log ("refused approve", with who, why and the text they were shown, typed or
gave as a reason), a second click on a decided draft's button too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot.drafts.model import Decision, Draft, DraftState
from bot.drafts.templates import LANGUAGE_NAMES

Name = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    message: str
    changed: tuple[Draft, ...] = ()
    decisions: tuple[Decision, ...] = ()
    publish: Draft | None = None  # approved and to be published by the source
    warning: str = ""  # done, but worth telling the person (an edit into another language)


def _plain(user: str) -> str:
    return user


def _hhmm(moment: datetime | None) -> str:
    return f"{moment:%H:%M} UTC" if moment else "earlier"


def already(draft: Draft, name: Name = _plain) -> str:
    """Why a draft that is no longer open cannot be decided again."""
    who = name(draft.decided_by) if draft.decided_by else "Vigie"
    when = _hhmm(draft.decided_at)
    match draft.state:
        case DraftState.PUBLISHING | DraftState.APPROVED:
            return f"Already approved by {who} at {when}."
        case DraftState.PUBLISHED:
            return f"Already approved by {who} and published at {_hhmm(draft.published_at)}."
        case DraftState.FAILED:
            return (
                f"Already approved by {who}; publishing failed ({draft.reason}). "
                "Use Retry, Edit to fix the text, or Reject to drop it."
            )
        case DraftState.REJECTED:
            return f"Already rejected by {who} at {when}: {draft.reason or 'no reason given'}."
        case DraftState.EXPIRED:
            return f"This draft expired at {_hhmm(draft.expires_at)}."
        case DraftState.WITHDRAWN:
            return f"{who} approved another draft for this post at {when}."
    return "This draft can no longer be decided."


def _refusal(
    draft: Draft,
    version: int | None,
    at: datetime,
    name: Name,
    user: str,
    action: str,
    text: str = "",
) -> Outcome | None:
    """Why ``user``'s ``action`` on ``draft`` cannot be made now, if it cannot; an expired
    draft is marked so (the caller stores the change). ``text`` is what the person tried it
    with, kept in the refusal's log row."""
    if not draft.state.open:
        return refused(draft, action, already(draft, name), user, at, text)
    if at >= draft.expires_at:
        expired = replace(draft, state=DraftState.EXPIRED, decided_at=at)
        log = Decision(at, "vigie", "expired", draft.incident_id, draft.id, draft.text)
        why = f"This draft expired at {_hhmm(draft.expires_at)}; {_AFTER_EXPIRY[action]}."
        refusal = refused(draft, action, why, user, at, text)
        return Outcome(False, why, (expired,), (log, *refusal.decisions))
    return _stale(draft, version, name, user, action, at, text)


_AFTER_EXPIRY = {
    "approve": "it can no longer be approved",
    "edit": "it can no longer be edited",
    "reject": "it is closed already",
}


def _stale(
    draft: Draft,
    version: int | None,
    name: Name,
    user: str,
    action: str,
    at: datetime,
    text: str = "",
) -> Outcome | None:
    """A refusal when the person saw another version of the text than the stored one, unless
    that version is their own edit into this very text (a Save sent again while the first was
    still being stored: no conflict, nothing to refuse)."""
    own = action == "edit" and draft.edited_by == user and saved_text(text) == draft.text
    if version is not None and version != draft.version and not own:
        editor = name(draft.edited_by) if draft.edited_by else "someone"
        why = f"{editor} edited this draft after you opened it; read the new text and decide again."
        return refused(draft, action, why, user, at, text)
    return None


def _edit_refusal(
    draft: Draft, version: int | None, at: datetime, name: Name, user: str, text: str
) -> Outcome | None:
    """Why ``draft`` cannot be edited into ``text`` now. One whose publishing failed may be,
    until it expires, so that a person can fix what the source refused."""
    if draft.state is not DraftState.FAILED:
        return _refusal(draft, version, at, name, user, "edit", text)
    if at >= draft.expires_at:
        why = (
            f"This draft expired at {_hhmm(draft.expires_at)}; it can no longer be edited. "
            "Retry it as it is, or Reject it."
        )
        return refused(draft, "edit", why, user, at, text)
    return _stale(draft, version, name, user, "edit", at, text)


def _reply_of(draft: Draft, others: Sequence[Draft]) -> Draft | None:
    """Another draft already approved as the reply to the same post, if any."""
    return next((o for o in others if o.id != draft.id and o.state.answers), None)


def _answered(reply: Draft, name: Name = _plain) -> str:
    """Why a post that already has ``reply`` gets no other."""
    who = name(reply.decided_by) if reply.decided_by else "someone"
    where = f"draft {reply.id} of incident #{reply.incident_id}"
    match reply.state:
        case DraftState.PUBLISHED:
            done = f"was published at {_hhmm(reply.published_at)}"
        case DraftState.PUBLISHING:
            done = "is being published"
        case _:
            done = "was handed over to be posted by hand"
    when = _hhmm(reply.decided_at)
    return f"This post already has a reply: {where}, approved by {who} at {when}, {done}."


def refused(
    draft: Draft, action: str, why: str, user: str, at: datetime, text: str = ""
) -> Outcome:
    """A refusal of ``user``'s ``action``, answered with ``why`` and kept in the decision log
    with ``text``: what they tried it with (the text shown, typed, or the reason), "" unknown."""
    log = Decision(at, user, f"refused {action}", draft.incident_id, draft.id, text, why)
    return Outcome(False, why, (), (log,))


def shown_text(draft: Draft, version: int | None) -> str:
    """The text a person deciding on ``version`` of ``draft`` saw: the stored one when that is
    the version (or none was given); "" when they saw an older version, no longer stored."""
    return draft.text if version in (None, draft.version) else ""


def approve(
    draft: Draft,
    others: Sequence[Draft],
    *,
    user: str,
    at: datetime,
    version: int | None,
    two_person: bool,
    can_publish: bool,
    problems: Sequence[str] = (),
    cannot_publish: str = "",
    name: Name = _plain,
) -> Outcome:
    """Approve one variant: it is published (or handed to a person to post), and the other
    open drafts for the same post (``others``: its set's and other incidents') are withdrawn:
    a post gets one answer. ``problems`` are what is wrong with its text as published;
    ``cannot_publish`` why its source, which should publish it, cannot now ("" when it can)."""
    shown = shown_text(draft, version)
    refusal = _refusal(draft, version, at, name, user, "approve", shown)
    if refusal is None:
        refusal = _approval_refusal(draft, others, user, at, two_person, problems, name)
    if refusal is None and can_publish and cannot_publish:
        refusal = refused(draft, "approve", f"Not approved: {cannot_publish}", user, at, shown)
    if refusal is not None:
        return refusal
    state = DraftState.PUBLISHING if can_publish else DraftState.APPROVED
    approved = replace(draft, state=state, decided_by=user, decided_at=at)
    withdrawn, withdrawals = _withdraw(draft, others, user, at)
    logs = (
        Decision(at, user, "approved", draft.incident_id, draft.id, draft.text, draft.variant),
        *withdrawals,
    )
    message = "Approved; publishing." if can_publish else "Approved; copy the text and post it."
    return Outcome(True, message, (approved, *withdrawn), logs, approved if can_publish else None)


def _approval_refusal(
    draft: Draft,
    others: Sequence[Draft],
    user: str,
    at: datetime,
    two_person: bool,
    problems: Sequence[str],
    name: Name,
) -> Outcome | None:
    """Why an open, current draft (its text the one shown) is still not approved: the
    two-person rule, its text, or another reply to the same post."""
    if two_person and draft.edited_by == user:
        why = "Two-person rule: you edited this draft, so someone else must approve it."
        return refused(draft, "approve", why, user, at, draft.text)
    if problems:
        why = "Not approved: the text " + "; ".join(problems) + ". Edit it first."
        return refused(draft, "approve", why, user, at, draft.text)
    reply = _reply_of(draft, others)
    if reply is not None:
        return refused(draft, "approve", _answered(reply, name), user, at, draft.text)
    return None


def edit(
    draft: Draft,
    *,
    user: str,
    at: datetime,
    version: int | None,
    text: str,
    reads_as: str = "",
    name: Name = _plain,
) -> Outcome:
    """Replace the text (already checked against the platform's limit and the playbook). A
    draft whose publishing failed goes back to proposed, to be approved again. ``reads_as`` is
    the language the new text reads as, when it is not the draft's: the edit is kept (staff
    may choose), and the answer, the draft's notes and the log say so."""
    text = saved_text(text)
    refusal = _edit_refusal(draft, version, at, name, user, text)
    if refusal is not None:
        return refusal
    if text == draft.text:
        return Outcome(True, "No change.")
    warning = _language_note(reads_as, draft.language)
    notes = tuple(n for n in draft.notes if not n.startswith(LANGUAGE_NOTE))
    edited = replace(
        draft,
        text=text,
        version=draft.version + 1,
        edited_by=user,
        edited_at=at,
        notes=(*notes, warning) if warning else notes,
    )
    detail = f"v{edited.version}"
    if draft.state is DraftState.FAILED:
        edited = replace(
            edited, state=DraftState.PROPOSED, decided_by="", decided_at=None, reason=""
        )
        detail += f", proposed again after publishing failed: {draft.reason}"
    if warning:
        detail += f"; {warning}"
    log = Decision(at, user, "edited", draft.incident_id, draft.id, text, detail)
    message = f"Edited. Note: the {warning}." if warning else "Edited."
    return Outcome(True, message, (edited,), (log,), warning=warning)


def saved_text(text: str) -> str:
    """An edited text as it is saved, checked and measured: without the spaces and blank lines
    around it (a trailing newline must not count toward the platform's limit)."""
    return text.strip()


LANGUAGE_NOTE = "edited text reads as "


def _language_note(reads_as: str, language: str) -> str:
    """What an edit into another language than the draft's is noted as ("" when it is not)."""
    if not reads_as or reads_as == language:
        return ""
    found, wanted = (LANGUAGE_NAMES.get(code, code) for code in (reads_as, language))
    return f"{LANGUAGE_NOTE}{found}; the reply was drafted in {wanted}"


def reject(
    draft: Draft,
    *,
    user: str,
    at: datetime,
    version: int | None,
    reason: str,
    name: Name = _plain,
) -> Outcome:
    """Drop a draft: an open one, or one whose publishing failed (even after it expired: it
    would otherwise wait for a Retry for ever), which is then not published."""
    failed = draft.state is DraftState.FAILED
    reason = " ".join(reason.split())
    if failed:
        refusal = _stale(draft, version, name, user, "reject", at, reason)
    else:
        refusal = _refusal(draft, version, at, name, user, "reject", reason)
    if refusal is not None:
        return refusal
    rejected = replace(
        draft, state=DraftState.REJECTED, decided_by=user, decided_at=at, reason=reason
    )
    detail = f"{reason} (publishing had failed: {draft.reason})" if failed else reason
    log = Decision(at, user, "rejected", draft.incident_id, draft.id, draft.text, detail)
    message = "Rejected; it will not be published." if failed else "Rejected."
    return Outcome(True, message, (rejected,), (log,))


def retry(
    draft: Draft,
    others: Sequence[Draft] = (),
    *,
    user: str,
    at: datetime,
    problems: Sequence[str] = (),
    cannot_publish: str = "",
    name: Name = _plain,
) -> Outcome:
    """Publish again an approved draft whose publishing failed, unless another draft for the
    same post (``others``) was approved meanwhile, its text (``problems``) cannot pass or its
    source cannot publish now (``cannot_publish``, "" when it can)."""
    if draft.state is not DraftState.FAILED:
        if not draft.state.open:
            why = already(draft, name)
        else:  # its Retry button was older than an edit, which proposed it again
            editor = name(draft.edited_by) if draft.edited_by else "Someone"
            why = f"{editor} edited this draft after publishing failed; approve the new text."
        return refused(draft, "retry", why, user, at)
    if problems:
        why = "Not retried: the text " + "; ".join(problems) + ". Edit it first."
        return refused(draft, "retry", why, user, at)
    if cannot_publish:
        return refused(draft, "retry", f"Not retried: {cannot_publish}", user, at)
    reply = _reply_of(draft, others)
    if reply is not None:
        return refused(draft, "retry", _answered(reply, name), user, at)
    again = replace(draft, state=DraftState.PUBLISHING, reason="")
    # drafts proposed for the post since (this one expired, another incident counts the post)
    withdrawn, withdrawals = _withdraw(draft, others, user, at)
    log = Decision(at, user, "retried", draft.incident_id, draft.id, draft.text)
    return Outcome(True, "Publishing again.", (again, *withdrawn), (log, *withdrawals), again)


def _withdraw(
    draft: Draft, others: Sequence[Draft], user: str, at: datetime
) -> tuple[tuple[Draft, ...], tuple[Decision, ...]]:
    """The other open drafts for ``draft``'s post, withdrawn as it goes out (a post gets one
    reply), and the decisions saying so."""
    withdrawn = tuple(
        replace(other, state=DraftState.WITHDRAWN, decided_by=user, decided_at=at)
        for other in others
        if other.id != draft.id and other.state.open
    )
    logs = tuple(
        Decision(at, user, "withdrawn", o.incident_id, o.id, o.text, f"draft {draft.id}")
        for o in withdrawn
    )
    return withdrawn, logs


def published(draft: Draft, *, url: str, at: datetime) -> Outcome:
    done = replace(draft, state=DraftState.PUBLISHED, published_url=url, published_at=at)
    log = Decision(at, "vigie", "published", draft.incident_id, draft.id, draft.text, url)
    return Outcome(True, "Published.", (done,), (log,))


def publish_failed(draft: Draft, *, error: str, at: datetime) -> Outcome:
    failed = replace(draft, state=DraftState.FAILED, reason=error[:300])
    log = Decision(at, "vigie", "publish_failed", draft.incident_id, draft.id, draft.text, error)
    return Outcome(False, "Publishing failed.", (failed,), (log,))
