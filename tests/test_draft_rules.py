"""Approval rules on drafts: single use, the version seen, expiry, the two-person rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.drafts import rules
from bot.drafts.model import Draft, DraftState

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def draft(number: int = 1, **changes: object) -> Draft:
    base = Draft(
        id=number,
        set_id=1,
        incident_id=7,
        brand="kestrel",
        variant=("apologetic", "informative", "dm")[(number - 1) % 3],
        language="en",
        theme="outage",
        text=f"Hi @ana, sorry about the outage ({number}).",
        state=DraftState.PROPOSED,
        created_at=T0,
        expires_at=T0 + timedelta(hours=24),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def approve(target: Draft, siblings: list[Draft] | None = None, **options: object) -> rules.Outcome:
    settings: dict[str, object] = {
        "user": "UANA",
        "at": T0 + timedelta(minutes=5),
        "version": target.version,
        "two_person": False,
        "can_publish": True,
    }
    settings.update(options)
    return rules.approve(target, siblings or [target], **settings)  # type: ignore[arg-type]


def test_approving_one_variant_publishes_it_and_withdraws_the_others() -> None:
    first, second, third = draft(1), draft(2), draft(3)
    outcome = approve(second, [first, second, third])
    assert outcome.ok
    assert outcome.publish is not None
    assert outcome.publish.id == 2
    states = {d.id: d.state for d in outcome.changed}
    assert states == {
        2: DraftState.PUBLISHING,
        1: DraftState.WITHDRAWN,
        3: DraftState.WITHDRAWN,
    }
    approved = next(d for d in outcome.changed if d.id == 2)
    assert (approved.decided_by, approved.decided_at) == ("UANA", T0 + timedelta(minutes=5))
    log = outcome.decisions[0]
    assert (log.actor, log.action, log.text) == ("UANA", "approved", second.text)


def test_an_approval_is_single_use() -> None:
    outcome = approve(draft())
    again = approve(outcome.changed[0], user="UBOB")
    assert not again.ok
    assert again.message.startswith("Already approved by UANA")
    assert not again.changed
    assert again.publish is None


def test_where_vigie_cannot_post_an_approval_hands_the_text_to_a_person() -> None:
    outcome = approve(draft(), can_publish=False)
    assert outcome.ok
    assert outcome.publish is None
    assert outcome.changed[0].state is DraftState.APPROVED
    assert "copy the text" in outcome.message


def test_an_expired_draft_cannot_be_approved_and_is_marked_expired() -> None:
    late = T0 + timedelta(hours=24)
    outcome = approve(draft(), at=late)
    assert not outcome.ok
    assert "expired" in outcome.message
    assert outcome.changed[0].state is DraftState.EXPIRED
    assert outcome.decisions[0].action == "expired"


def test_a_click_on_an_older_version_is_refused() -> None:
    edited = rules.edit(
        draft(), user="UBOB", at=T0, version=1, text="Hi @ana, we're on it."
    ).changed[0]
    assert edited.version == 2
    outcome = approve(edited, version=1)
    assert not outcome.ok
    assert "UBOB edited this draft" in outcome.message


def test_two_person_rule_refuses_the_editors_own_approval_only() -> None:
    edited = rules.edit(
        draft(), user="UANA", at=T0, version=1, text="Hi @ana, we're on it."
    ).changed[0]
    own = approve(edited, two_person=True, user="UANA")
    assert not own.ok
    assert "someone else must approve" in own.message
    assert approve(edited, two_person=False, user="UANA").ok  # rule off: allowed
    assert approve(edited, two_person=True, user="UBOB").ok  # another person: allowed


def test_reject_keeps_the_reason_and_closes_the_draft() -> None:
    outcome = rules.reject(
        draft(), user="UBOB", at=T0, version=1, reason="  wrong   tone for a crisis "
    )
    rejected = outcome.changed[0]
    assert (rejected.state, rejected.reason) == (DraftState.REJECTED, "wrong tone for a crisis")
    assert outcome.decisions[0].detail == "wrong tone for a crisis"
    late = approve(rejected)
    assert not late.ok
    assert "Already rejected by UBOB" in late.message


def test_approve_and_reject_racing_the_first_decision_wins() -> None:
    """Decisions are applied one at a time to what is stored: the second sees the first."""
    approved = approve(draft()).changed[0]
    reject = rules.reject(approved, user="UBOB", at=T0, version=1, reason="no")
    assert not reject.ok
    assert reject.message.startswith("Already approved")
    rejected = rules.reject(draft(), user="UBOB", at=T0, version=1, reason="no").changed[0]
    assert not approve(rejected).ok


def test_an_edit_with_the_same_text_changes_nothing() -> None:
    same = rules.edit(draft(), user="UANA", at=T0, version=1, text=draft().text + "  ")
    assert same.ok
    assert not same.changed


def test_a_failed_publication_can_be_retried_once_per_click() -> None:
    publishing = approve(draft()).changed[0]
    failed = rules.publish_failed(publishing, error="429 rate limited", at=T0).changed[0]
    assert failed.state is DraftState.FAILED
    retried = rules.retry(failed, user="UANA", at=T0)
    assert retried.ok
    assert retried.publish is not None
    assert not rules.retry(retried.changed[0], user="UANA", at=T0).ok
    published = rules.published(retried.changed[0], url="https://m.example/@k/1", at=T0)
    assert published.changed[0].published_url == "https://m.example/@k/1"
    assert published.decisions[0].detail == "https://m.example/@k/1"
