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


def test_a_save_sent_again_while_the_first_was_stored_is_no_conflict() -> None:
    """Slack asks to submit again when the first Save was slow; the first one was stored
    meanwhile: the same person's same text from the version they opened is no conflict (it
    was shown as someone, themselves, having edited the draft since)."""
    saved = rules.edit(draft(), user="UANA", at=T0, version=1, text="Sorry, on it.").changed[0]
    again = rules.edit(saved, user="UANA", at=T0, version=1, text="Sorry, on it.\n")
    assert again.ok
    assert not again.changed  # nothing to change
    assert not again.decisions  # nothing refused, nothing logged
    other = rules.edit(saved, user="UBOB", at=T0, version=1, text="Sorry, on it.")
    assert not other.ok  # someone else from the old version: still a conflict
    longer = rules.edit(saved, user="UANA", at=T0, version=1, text="Sorry, on it. More.")
    assert not longer.ok  # their own older version with another text: read it first


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


# -- one reply per post, across incidents -------------------------------------------------------


def elsewhere(number: int, **changes: object) -> Draft:
    """A draft for the same post in another incident's set."""
    return draft(number, set_id=2, incident_id=9, **changes)


def test_a_post_with_a_reply_out_refuses_another_approval_and_logs_it() -> None:
    out = elsewhere(
        4,
        state=DraftState.PUBLISHING,
        decided_by="UANN",
        decided_at=T0 + timedelta(minutes=2),
    )
    mine = draft(1)
    outcome = approve(mine, [out, mine], user="UBOB")
    assert not outcome.ok
    assert not outcome.changed
    assert outcome.publish is None
    assert outcome.message == (
        "This post already has a reply: draft 4 of incident #9, approved by UANN at 09:02 UTC, "
        "is being published."
    )
    [log] = outcome.decisions
    assert (log.actor, log.action, log.draft_id, log.detail) == (
        "UBOB",
        "refused approve",
        1,
        outcome.message,
    )
    published = replace(out, state=DraftState.PUBLISHED, published_at=T0 + timedelta(minutes=3))
    assert "was published at 09:03 UTC" in approve(mine, [published, mine]).message
    by_hand = replace(out, state=DraftState.APPROVED)
    assert not approve(mine, [by_hand, mine]).ok
    failed = replace(out, state=DraftState.FAILED)  # the source refused it: no reply is out
    assert approve(mine, [failed, mine]).ok


def test_a_failed_reply_is_not_retried_once_another_went_out() -> None:
    failed = replace(draft(1), state=DraftState.FAILED, decided_by="UANN", reason="422")
    out = elsewhere(4, state=DraftState.PUBLISHED, decided_by="UBOB")
    refused = rules.retry(failed, [failed, out], user="UANN", at=T0)
    assert not refused.ok
    assert refused.message.startswith("This post already has a reply: draft 4")
    assert [d.action for d in refused.decisions] == ["refused retry"]
    assert rules.retry(failed, [failed], user="UANN", at=T0).ok


def test_a_retry_withdraws_the_drafts_proposed_for_the_post_since() -> None:
    """The failed draft expired, so another incident counting the post drafted it again: when
    the failed one is published after all, those are withdrawn (a post gets one reply), as an
    approval withdraws them."""
    failed = replace(draft(1), state=DraftState.FAILED, decided_by="UANN", reason="403")
    proposed = elsewhere(5)
    retried = rules.retry(failed, [failed, proposed], user="UANN", at=T0)
    assert retried.ok
    assert [(d.id, d.state) for d in retried.changed] == [
        (1, DraftState.PUBLISHING),
        (5, DraftState.WITHDRAWN),
    ]
    assert [d.action for d in retried.decisions] == ["retried", "withdrawn"]


def test_a_text_that_cannot_be_published_is_not_approved_or_retried() -> None:
    too_long = ["is 512 characters; Mastodon takes 500"]
    refused = approve(draft(), problems=too_long)
    assert not refused.ok
    assert refused.message == (
        "Not approved: the text is 512 characters; Mastodon takes 500. Edit it first."
    )
    assert not refused.changed
    failed = replace(draft(), state=DraftState.FAILED)
    retried = rules.retry(failed, [failed], user="UANA", at=T0, problems=too_long)
    assert not retried.ok
    assert retried.message.startswith("Not retried: the text is 512 characters")


# -- fixing a reply the source refused ----------------------------------------------------------


def failed_draft() -> Draft:
    publishing = approve(draft()).changed[0]
    error = "422 Validation failed: Text character limit of 500 exceeded"
    return rules.publish_failed(publishing, error=error, at=T0 + timedelta(minutes=6)).changed[0]


def test_a_failed_draft_can_be_edited_back_to_proposed() -> None:
    failed = failed_draft()
    assert "Edit to fix the text, or Reject to drop it" in rules.already(failed)
    later = T0 + timedelta(minutes=10)
    outcome = rules.edit(failed, user="UBOB", at=later, version=1, text="@ana Sorry, fixing it.")
    assert outcome.ok
    [fixed] = outcome.changed
    assert (fixed.state, fixed.version, fixed.text) == (
        DraftState.PROPOSED,
        2,
        "@ana Sorry, fixing it.",
    )
    assert (fixed.edited_by, fixed.decided_by, fixed.decided_at, fixed.reason) == (
        "UBOB",
        "",
        None,
        "",
    )
    assert fixed.publish_attempts == failed.publish_attempts  # the next one is a new attempt
    [log] = outcome.decisions
    assert (log.actor, log.action, log.text) == ("UBOB", "edited", "@ana Sorry, fixing it.")
    assert log.detail.startswith("v2, proposed again after publishing failed: 422")
    again = approve(fixed, user="UCAT", at=later)
    assert again.ok
    assert again.publish is not None


def test_a_failed_draft_is_not_edited_from_an_old_version_or_once_expired() -> None:
    failed = failed_draft()
    stale = rules.edit(failed, user="UBOB", at=T0, version=0, text="@ana Hello")
    assert not stale.ok
    assert not stale.changed
    late = T0 + timedelta(hours=24)
    expired = rules.edit(failed, user="UBOB", at=late, version=1, text="@ana Hello")
    assert not expired.ok
    assert "expired" in expired.message
    assert not expired.changed  # it stays failed, to be seen as such


def test_a_failed_draft_can_be_rejected_even_once_expired_and_then_blocks_nothing() -> None:
    failed = failed_draft()
    late = T0 + timedelta(hours=30)
    assert failed.live(T0 + timedelta(minutes=10))
    assert not failed.live(late)  # new drafts for the post may be proposed
    expired_edit = rules.edit(failed, user="UBOB", at=late, version=1, text="@ana Hello")
    assert expired_edit.message.endswith("Retry it as it is, or Reject it.")
    stale = rules.reject(failed, user="UBOB", at=late, version=0, reason="old")
    assert not stale.ok
    outcome = rules.reject(failed, user="UBOB", at=late, version=1, reason="the post was deleted")
    assert (outcome.ok, outcome.message) == (True, "Rejected; it will not be published.")
    [dropped] = outcome.changed
    assert (dropped.state, dropped.decided_by, dropped.reason) == (
        DraftState.REJECTED,
        "UBOB",
        "the post was deleted",
    )
    [log] = outcome.decisions
    assert log.action == "rejected"
    assert log.detail == (
        "the post was deleted (publishing had failed: "
        "422 Validation failed: Text character limit of 500 exceeded)"
    )
    assert not rules.retry(dropped, user="UCAT", at=late).ok


def test_an_expired_draft_refusal_names_the_action() -> None:
    late = T0 + timedelta(hours=25)
    said = {
        action: outcome.message
        for action, outcome in (
            ("approve", approve(draft(), at=late)),
            ("edit", rules.edit(draft(), user="UBOB", at=late, version=1, text="x")),
            ("reject", rules.reject(draft(), user="UBOB", at=late, version=1, reason="")),
        )
    }
    assert said == {
        "approve": "This draft expired at 09:00 UTC; it can no longer be approved.",
        "edit": "This draft expired at 09:00 UTC; it can no longer be edited.",
        "reject": "This draft expired at 09:00 UTC; it is closed already.",
    }


def test_retry_after_someone_fixed_the_text_says_to_approve_it() -> None:
    fixed = rules.edit(
        failed_draft(), user="UBOB", at=T0 + timedelta(minutes=10), version=1, text="@ana Hi"
    ).changed[0]
    outcome = rules.retry(fixed, user="UCAT", at=T0 + timedelta(minutes=11))
    assert (
        outcome.message == "UBOB edited this draft after publishing failed; approve the new text."
    )


# -- every refusal of a rule is in the decision log ---------------------------------------------


def test_every_refusal_of_a_rule_is_logged_with_who_and_why() -> None:
    edited = rules.edit(draft(), user="UBOB", at=T0, version=1, text="Hi @ana, on it.").changed[0]
    failed = replace(edited, state=DraftState.FAILED, decided_by="UANA", reason="503")
    at = T0 + timedelta(minutes=5)
    refusals = {
        "stale approve": approve(edited, version=1),
        "stale reject": rules.reject(edited, user="UANA", at=at, version=1, reason="no"),
        "stale edit": rules.edit(edited, user="UANA", at=at, version=1, text="Hi"),
        "two-person": approve(edited, two_person=True, user="UBOB"),
        "text": approve(edited, problems=["is 512 characters; Mastodon takes 500"]),
        "retry text": rules.retry(failed, user="UANA", at=at, problems=["is empty"]),
        "no publisher": approve(edited, cannot_publish="Acme's Mastodon source cannot publish"),
        "retry no publisher": rules.retry(failed, user="UANA", at=at, cannot_publish="it cannot"),
        "expired edit": rules.edit(
            failed, user="UANA", at=T0 + timedelta(hours=24), version=2, text="Hi"
        ),
        "already decided": approve(failed, version=2),
        "retry of an open draft": rules.retry(edited, user="UANA", at=at),
    }
    for what, outcome in refusals.items():
        assert not outcome.ok, what
        assert not outcome.changed, what
        [log] = outcome.decisions
        assert log.action.startswith("refused "), what
        assert (log.draft_id, log.incident_id, log.detail) == (1, 7, outcome.message), what
        assert log.actor == ("UBOB" if what == "two-person" else "UANA"), what
    assert refusals["stale reject"].decisions[0].action == "refused reject"
    assert refusals["retry text"].decisions[0].action == "refused retry"
    late = approve(edited, at=T0 + timedelta(hours=24))  # marked expired, and the click refused
    assert [(d.actor, d.action, d.detail) for d in late.decisions] == [
        ("vigie", "expired", ""),
        ("UANA", "refused approve", late.message),
    ]


def test_a_source_that_cannot_publish_now_refuses_the_approval_but_not_a_hand_over() -> None:
    why = "Acme's Mastodon source “masto” cannot publish now"
    refused = approve(draft(), cannot_publish=why)
    assert refused.message == f"Not approved: {why}"
    assert refused.publish is None
    assert approve(draft(), can_publish=False, cannot_publish=why).ok  # a person posts it anyway
    failed = replace(draft(), state=DraftState.FAILED, reason="503")
    assert rules.retry(failed, user="UANA", at=T0, cannot_publish=why).message == (
        f"Not retried: {why}"
    )


# -- an edit into another language is kept, and said ---------------------------------------------


def test_an_edit_into_another_language_is_kept_and_noted_until_fixed() -> None:
    french = draft(language="fr", text="Bonjour @ana, désolés pour la panne.", notes=("cut",))
    outcome = rules.edit(
        french, user="UBOB", at=T0, version=1, text="Hi @ana, sorry for the outage.", reads_as="en"
    )
    assert outcome.ok
    assert outcome.warning == "edited text reads as English; the reply was drafted in French"
    assert outcome.message == f"Edited. Note: the {outcome.warning}."
    [english] = outcome.changed
    assert english.notes == ("cut", outcome.warning)  # the approver sees it on the card
    assert outcome.decisions[0].detail == f"v2; {outcome.warning}"
    fixed = rules.edit(english, user="UBOB", at=T0, version=2, text="Bonjour @ana, on s'en occupe.")
    assert (fixed.message, fixed.warning, fixed.changed[0].notes) == ("Edited.", "", ("cut",))
