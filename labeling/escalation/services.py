"""Escalation: a flagged clip leaves the queue for the supervisors, who claim it, may hear it,
record an outcome with its reason, and may place a legal hold."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from consent.models import LedgerEntry
from consent.services import ledger_append
from core.errors import ApplicationError, Conflict, Gone, NotFound
from core.validation import bounded_text
from labeling import servability
from labeling.custody.services import SHREDDED_TEXT, clip_shred, legal_hold_active
from labeling.models import (
    ESCALATION_UNRESOLVED,
    FLAG_SEVERITY,
    MAX_NOTE_CHARS,
    MAX_REASON_CHARS,
    MAX_TRANSCRIPT_CHARS,
    SUPERVISOR_PURPOSES,
    Assignment,
    AssignmentState,
    Clip,
    ClipStatus,
    Escalation,
    EscalationOutcome,
    EscalationState,
    LegalHold,
    Purpose,
    Shift,
)
from labeling.review.selectors import work_rules_for
from labeling.review.services import (
    close_and_requeue,
    live_assignment,
    opinions_cancel,
    supervisor_listening,
    valid_flag_category,
)


def assignment_flag(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser, category: str, note: str = "",
                    text: str = "") -> Escalation:
    """The annotator flags the clip in front of them. It leaves the queue at once for the supervisors'
    escalation queue; every open assignment of it closes; the annotator's shift pauses
    (WorkRules.flag_break) and their next clip is never a flagged one."""
    category = valid_flag_category(category)
    note = bounded_text(note, field="note", limit=MAX_NOTE_CHARS, required=False, what="a note")
    text = bounded_text(text, field="text", limit=MAX_TRANSCRIPT_CHARS, required=False, what="the transcript")
    now = timezone.now()
    with transaction.atomic():
        # The clip's row first, then the assignment's, in the order withdrawal takes them.
        clip_id = live_assignment(assignment_id=assignment_id, annotator=annotator, lock=False).clip_id
        clip = Clip.objects.select_for_update().get(pk=clip_id)
        assignment = live_assignment(assignment_id=assignment_id, annotator=annotator, lock=True)
        if assignment.purpose in SUPERVISOR_PURPOSES:
            raise Conflict("not_flaggable", "Supervisors record an outcome instead of flagging.")
        if clip.status not in servability.SERVABLE_STATES[assignment.purpose]:
            raise Gone("withdrawn", "This clip was withdrawn by its owner.")
        newly_heard = assignment.audio_sent > 0 and not clip.flag_category  # a flagged clip was counted when sent
        if not clip.flag_category or FLAG_SEVERITY[category] < FLAG_SEVERITY[clip.flag_category]:
            clip.flag_category = category
        Clip.objects.filter(pk=clip.pk).update(status=ClipStatus.ESCALATED, flag_category=clip.flag_category,
                                               updated_at=now)
        Assignment.objects.filter(clip=clip, state=AssignmentState.OPEN).exclude(
            purpose__in=SUPERVISOR_PURPOSES).update(state=AssignmentState.ESCALATED, closed_at=now)
        opinions_cancel(clip=clip, now=now)
        # The clip claimed ahead goes back too: after a flag comes a pause, then never a flagged clip.
        close_and_requeue(list(Assignment.objects.filter(annotator=annotator, state=AssignmentState.OPEN,
                                                         standby=True).values_list("id", flat=True)),
                           AssignmentState.RELEASED, now)
        rules = work_rules_for(annotator=annotator)
        Shift.objects.filter(pk=assignment.shift_id).update(
            last_flag_at=now, flag_break_until=now + rules.flag_break, last_active_at=now,
            exposure_seconds=F("exposure_seconds") + ((clip.duration_seconds or 0.0) if newly_heard else 0.0))
        escalation = Escalation.objects.create(
            clip=clip, assignment=assignment, flagged_by=annotator, category=category,
            severity=FLAG_SEVERITY[category], note=note, annotator_text=text, created_at=now,
            due_at=now + timedelta(hours=settings.ESCALATION_RESPONSE_HOURS[category]))
        _ledger_escalation(escalation, actor=annotator, step="flag", category=category)
    return escalation


def _ledger_escalation(escalation: Escalation, *, actor: AbstractBaseUser, step: str, **detail) -> None:
    ledger_append(action=LedgerEntry.Action.ESCALATION, actor_id=actor.pk, account_id=escalation.clip.account_id,
                  clip_id=escalation.clip_id, assignment_id=escalation.assignment_id,
                  detail={"step": step, "escalation": str(escalation.id), **detail})


def _clip_of_escalation_locked(escalation_id: uuid.UUID) -> Clip:
    """The escalation's clip, row-locked before the escalation is: the order withdrawal takes them."""
    clip_id = Escalation.objects.filter(pk=escalation_id).values_list("clip_id", flat=True).first()
    if clip_id is None:
        raise NotFound("not_found", "No such escalation.")
    return Clip.objects.select_for_update().get(pk=clip_id)


def _escalation_locked(escalation_id: uuid.UUID) -> Escalation:
    escalation = Escalation.objects.select_for_update(of=("self",)).select_related("clip").filter(
        pk=escalation_id).first()
    if escalation is None:
        raise NotFound("not_found", "No such escalation.")
    return escalation


def _escalation_of(supervisor: AbstractBaseUser, escalation_id: uuid.UUID) -> Escalation:
    """The escalation, locked, if this supervisor has claimed it and it is not closed."""
    escalation = _escalation_locked(escalation_id)
    if escalation.state not in ESCALATION_UNRESOLVED:
        raise Conflict("escalation_closed", f"This escalation is {escalation.state}.")
    if escalation.state != EscalationState.CLAIMED or escalation.claimed_by_id != supervisor.pk:
        raise Conflict("not_claimed", "Claim this escalation before working on it.")
    return escalation


def escalation_claim(*, escalation_id: uuid.UUID, supervisor: AbstractBaseUser) -> Escalation:
    """Take an escalation; nobody else works on it until it is resolved, unless it stays unresolved
    with its claimant for ESCALATION_TAKE_OVER_MINUTES: then another supervisor may take it over.
    Claiming it twice is harmless."""
    with transaction.atomic():
        escalation = _escalation_locked(escalation_id)
        if escalation.state not in ESCALATION_UNRESOLVED:
            raise Conflict("escalation_closed", f"This escalation is {escalation.state}.")
        now = timezone.now()
        previous = None
        if escalation.state == EscalationState.CLAIMED:
            if escalation.claimed_by_id == supervisor.pk:
                return escalation
            held_for = now - escalation.claimed_at
            if held_for < timedelta(minutes=settings.ESCALATION_TAKE_OVER_MINUTES):
                wait = settings.ESCALATION_TAKE_OVER_MINUTES - int(held_for.total_seconds() // 60)
                raise Conflict("claimed_by_another", "Another supervisor is handling this escalation; "
                               f"if it stays with them, you can take it over in {wait} min.")
            previous = escalation.claimed_by_id  # left unresolved too long: another supervisor takes it over
        escalation.state, escalation.claimed_by, escalation.claimed_at = EscalationState.CLAIMED, supervisor, now
        escalation.save(update_fields=["state", "claimed_by", "claimed_at"])
        if previous is None:
            _ledger_escalation(escalation, actor=supervisor, step="claim")
        else:
            Assignment.objects.filter(clip_id=escalation.clip_id, annotator_id=previous, state=AssignmentState.OPEN,
                                      purpose=Purpose.ESCALATION_REVIEW).update(state=AssignmentState.RELEASED,
                                                                               closed_at=now)
            _ledger_escalation(escalation, actor=supervisor, step="take_over", previous=previous)
    return escalation


def escalation_transcript_view(*, escalation_id: uuid.UUID, supervisor: AbstractBaseUser) -> Escalation:
    """The claimant reads the clip's transcript before deciding whether to hear it, under the same
    rule as hearing it (labeling.servability); the reading is in the ledger."""
    with transaction.atomic():
        escalation = _escalation_of(supervisor, escalation_id)
        servability.refuse_unless_servable(escalation.clip, Purpose.ESCALATION_REVIEW, timezone.now())
        ledger_append(action=LedgerEntry.Action.TRANSCRIPT_VIEW, actor_id=supervisor.pk,
                      account_id=escalation.clip.account_id, clip_id=escalation.clip_id,
                      assignment_id=escalation.assignment_id, detail={"purpose": Purpose.ESCALATION_REVIEW})
    return escalation


def escalation_listen(*, escalation_id: uuid.UUID, supervisor: AbstractBaseUser) -> Assignment:
    """The claimant chose to hear the clip: an assignment and token for the audio endpoint."""
    with transaction.atomic():
        escalation = _escalation_of(supervisor, escalation_id)
        return supervisor_listening(clip=escalation.clip, supervisor=supervisor, purpose=Purpose.ESCALATION_REVIEW)


def escalation_resolve(*, escalation_id: uuid.UUID, supervisor: AbstractBaseUser, outcome: str, reason: str,
                       referred_to: str = "") -> Escalation:
    """Record the claimant's decision, with its reason, and carry it out:
    no_action puts the clip back in the queue (keeping its flag, so exposure budgets and opt-outs
    apply); purge shreds it unless a legal hold is in force; referral and wellbeing_check keep it
    out of review. The platform contacts nobody itself."""
    if outcome not in EscalationOutcome.values:
        raise ApplicationError("invalid_outcome", f"Choose one of: {', '.join(EscalationOutcome.values)}.",
                               fields={"outcome": ["Unknown outcome."]})
    reason = bounded_text(reason, field="reason", limit=MAX_REASON_CHARS, required=True,
                          what="the reason for this decision")
    referred_to = bounded_text(referred_to, field="referred_to", limit=200, required=outcome == "referral",
                               what="who the case is referred to")
    now = timezone.now()
    with transaction.atomic():
        clip = _clip_of_escalation_locked(escalation_id)
        escalation = _escalation_of(supervisor, escalation_id)
        if outcome == EscalationOutcome.PURGE:
            hold = legal_hold_active(clip_id=clip.id, now=now)
            if hold is not None:
                raise Conflict("legal_hold", f"A legal hold keeps this clip until {hold.expires_at:%Y-%m-%d %H:%M} "
                               "UTC: it cannot be purged before then.")
            clip_shred(clip, reason="purged_after_escalation", now=now)
        elif (outcome == EscalationOutcome.NO_ACTION and clip.status == ClipStatus.ESCALATED
              and servability.refusal(clip, servability.LEND, now=now, status=ClipStatus.QUEUED) in
              {None, *servability.AWAITING_OWNER}):
            # Back to the queue only if it could be lent there: never under a hold, after a deletion
            # request or without consent; such a clip stays out of review. A clip whose owner has yet
            # to confirm a changed policy waits there, lent once they do.
            Clip.objects.filter(pk=clip.pk).update(status=ClipStatus.QUEUED, updated_at=now)
        Assignment.objects.filter(clip=clip, state=AssignmentState.OPEN, purpose=Purpose.ESCALATION_REVIEW).update(
            state=AssignmentState.RELEASED, closed_at=now)
        if outcome == EscalationOutcome.PURGE:  # the clip's free texts went with it, this reason too
            reason, referred_to = SHREDDED_TEXT, ""
        escalation.state, escalation.outcome, escalation.reason = EscalationState.RESOLVED, outcome, reason
        escalation.referred_to, escalation.resolved_by, escalation.resolved_at = referred_to, supervisor, now
        escalation.save(update_fields=["state", "outcome", "reason", "referred_to", "resolved_by", "resolved_at"])
        _ledger_escalation(escalation, actor=supervisor, step="resolve", outcome=outcome)
    return escalation


def legal_hold_place(*, escalation_id: uuid.UUID, supervisor: AbstractBaseUser, reason: str, days: int) -> LegalHold:
    """Freeze deletion of the escalation's clip for `days`, with the reason; any supervisor may, at
    any stage, while the clip still exists. The data subject's ledger shows that a hold exists."""
    reason = bounded_text(reason, field="reason", limit=MAX_REASON_CHARS, required=True, what="the hold's reason")
    if not 1 <= days <= settings.LEGAL_HOLD_MAX_DAYS:
        raise ApplicationError("invalid_days", f"A hold lasts 1 to {settings.LEGAL_HOLD_MAX_DAYS} days.",
                               fields={"days": ["Out of range."]})
    now = timezone.now()
    with transaction.atomic():
        clip = _clip_of_escalation_locked(escalation_id)
        escalation = _escalation_locked(escalation_id)
        if clip.wrapped_key is None:
            raise Conflict("clip_gone", "This clip no longer exists; there is nothing to hold.")
        hold = LegalHold.objects.create(clip=clip, escalation=escalation, reason=reason, created_by=supervisor,
                                        created_at=now, expires_at=now + timedelta(days=days))
        _ledger_escalation(escalation, actor=supervisor, step="legal_hold",
                           expires_at=hold.expires_at.isoformat(timespec="seconds"))
    return hold
