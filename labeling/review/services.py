"""Review: project membership, shifts, claims and lending (transcription, second opinions, gold clips),
leases, supervisors' listening assignments, annotators' opt-outs and sound preferences."""

from __future__ import annotations

import math
import secrets
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from consent.models import Account, LedgerEntry
from consent.services import ledger_append
from core.errors import ApplicationError, Conflict, Gone, NotFound
from core.rows import db_value
from labeling import servability
from labeling.models import (
    ANSWERING_PURPOSES,
    FLAG_SEVERITY,
    OPINION_WAITING,
    SUPERVISOR_PURPOSES,
    AnnotatorPreference,
    Assignment,
    AssignmentState,
    CategoryOptOut,
    Clip,
    ClipStatus,
    FlagCategory,
    GoldClip,
    MutedStart,
    OpinionKind,
    Project,
    ProjectMember,
    ProjectRole,
    Purpose,
    SecondOpinion,
    SecondOpinionState,
    Shift,
)
from labeling.review.claim_sql import claim_lend
from labeling.review.selectors import (
    assignment_for_annotator,
    shift_current,
    shift_for_claim,
    shifts_in_last_day,
    work_rules_for,
)
from labeling.selectors import project_ids_of
from labeling.servability import SERVABILITY_FIELDS, refuse_unless_servable
from labeling.work_rules import ShiftActivity, claim_refusal, shift_start_refusal, stretch_start, worked

# ---------------------------------------------------------------- projects


def project_member_add(*, user: AbstractBaseUser, role: str, project: Project | None = None) -> ProjectMember:
    """Make the user an annotator or supervisor of the project (the default project if none)."""
    if role not in ProjectRole.values:
        raise ApplicationError("unknown_role", f"A project member is one of {', '.join(ProjectRole.values)}.")
    project = project or Project.objects.get(slug=settings.DEFAULT_PROJECT)
    member, _ = ProjectMember.objects.get_or_create(project=project, user=user, role=role)
    return member


# ---------------------------------------------------------------- second opinions no longer needed


def opinions_cancel(*, now: datetime, **clips) -> None:
    """Second opinions still waiting on these clips (a filter on SecondOpinion's clip) are no longer needed."""
    SecondOpinion.objects.filter(state__in=OPINION_WAITING, **clips).update(
        state=SecondOpinionState.CANCELLED, closed_at=now)


# ---------------------------------------------------------------- shifts


def shift_start(*, annotator: AbstractBaseUser) -> Shift:
    """Start a shift, or return the one already open; refused while the annotator must rest."""
    with transaction.atomic():
        current = shift_current(annotator=annotator)
        if current is not None:
            return current
        now = timezone.now()
        earlier = shifts_in_last_day(annotator=annotator, now=now)
        refusal = shift_start_refusal(work_rules_for(annotator=annotator), earlier, now)
        if refusal is not None:
            raise refusal
        return Shift.objects.create(annotator=annotator, started_at=now,
                                    earlier_worked_seconds=int(worked(earlier, at=now, now=now).total_seconds()))


def shift_end(*, annotator: AbstractBaseUser) -> Shift:
    """End the open shift; an unfinished clip goes back to the queue."""
    with transaction.atomic():
        shift = shift_current(annotator=annotator)
        if shift is None:
            raise Conflict("no_open_shift", "There is no open shift to end.")
        now = timezone.now()
        open_ids = list(
            Assignment.objects.select_for_update()
            .filter(shift=shift, state=AssignmentState.OPEN)
            .values_list("id", flat=True)
        )
        close_and_requeue(open_ids, AssignmentState.RELEASED, now)
        shift.ended_at = now
        shift.save(update_fields=["ended_at"])
    return shift


# ---------------------------------------------------------------- assignments


def close_and_requeue(assignment_ids: list[uuid.UUID], state: str, now: datetime) -> int:
    """Close open assignments and put their clips back in the queue, keeping their place."""
    if not assignment_ids:
        return 0
    rows = list(Assignment.objects.filter(pk__in=assignment_ids, state=AssignmentState.OPEN)
                .values_list("id", "clip_id", "purpose"))
    closed = Assignment.objects.filter(pk__in=assignment_ids, state=AssignmentState.OPEN).update(
        state=state, closed_at=now, draft=None
    )
    # Only a transcription holds the clip in the queue's sense; a second opinion waits for another answer.
    transcribed = [clip for _, clip, purpose in rows if purpose == Purpose.TRANSCRIPTION]
    Clip.objects.filter(pk__in=transcribed, status=ClipStatus.ASSIGNED).update(status=ClipStatus.QUEUED, updated_at=now)
    answering = [pk for pk, _, purpose in rows if purpose in ANSWERING_PURPOSES]
    if answering:
        SecondOpinion.objects.filter(answer_assignment_id__in=answering, state=SecondOpinionState.ANSWERING).update(
            state=SecondOpinionState.PENDING, answer_assignment=None)
    return closed


def assignment_expire_leases(*, batch: int = 500) -> int:
    """Open assignments whose lease ran out return their clips to the queue."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Assignment.objects.select_for_update(skip_locked=True)
            .filter(state=AssignmentState.OPEN, lease_expires_at__lte=now)
            .values_list("id", flat=True)[:batch]
        )
        return close_and_requeue(ids, AssignmentState.EXPIRED, now)


def assignment_claim(*, annotator: AbstractBaseUser, standby: bool = False) -> Assignment | None:
    """Lend the oldest queued clip to this annotator, or return the one they already hold.

    With `standby` the clip is claimed ahead, while the annotator works on another one, so that the
    editor can fetch its audio before it is needed (it becomes theirs at the next submit or skip);
    the one already in standby is returned if there is one. A new clip is lent only within the work
    rules (labeling.work_rules); the shift's row lock serializes one annotator's claims, so two
    requests cannot both pass a limit.
    """
    for _ in range(2):
        now = timezone.now()
        with transaction.atomic():
            shift, rules = shift_for_claim(annotator=annotator)
            if shift is None:
                raise Conflict("no_open_shift", "Start a shift before asking for a clip.")
            held = _held(annotator, now)
            if standby:
                if held.get(False) is None:
                    raise Conflict("no_current_clip", "Ask for a clip ahead only while you work on one.")
                if held.get(True) is not None:
                    return held[True]
            elif held.get(False) is not None:  # a clip already held is returned whatever the pace or time
                return held[False]
            elif held.get(True) is not None:
                promote_standby(annotator, now)
                held[True].refresh_from_db()
                return held[True]
            activity = ShiftActivity(shift.started_at, shift.last_claim_at, shift.last_active_at,
                                     shift.stretch_started_at, shift.clips_claimed, shift.flag_break_until)
            # Earlier shifts' time as it was at this shift's start: some of it may have left the
            # 24 h window since, so this errs towards rest, and it costs no query.
            worked_today = timedelta(seconds=shift.earlier_worked_seconds) + (now - shift.started_at)
            refusal = claim_refusal(rules, activity, worked_today, now)
            if refusal is not None:
                raise refusal
            flagged_ok = _flagged_allowed(shift, rules)
            stretch = stretch_start(rules, activity, now)
            if shift.opinions_waiting:
                answering = _lend_second_opinion(annotator=annotator, shift=shift, flagged_ok=flagged_ok, now=now,
                                                 stretch=stretch, standby=standby)
                if answering is not None:
                    return answering
            gold = _lend_gold(annotator=annotator, shift=shift, now=now, stretch=stretch, standby=standby)
            if gold is not None:
                return gold
            assignment = Assignment(
                annotator=annotator,
                shift=shift,
                created_at=now,
                lease_expires_at=now + timedelta(seconds=settings.ASSIGNMENT_LEASE_SECONDS),
                standby=standby,
            )
            stamp = db_value(Assignment, "created_at", now)
            params = [
                db_value(Assignment, "id", assignment.id), annotator.pk, shift.pk, stamp,
                db_value(Assignment, "lease_expires_at", assignment.lease_expires_at),
                *servability.rule_params(now), annotator.pk, annotator.pk,
                annotator.pk, db_value(Assignment, "created_at", now - timedelta(days=settings.LINKABILITY_DAYS)),
                settings.LINKABILITY_MAX_CLIPS, flagged_ok, annotator.pk, annotator.pk,
            ] + ([annotator.pk] if standby else [])
            shift_params = [db_value(Shift, "last_claim_at", now), db_value(Shift, "last_active_at", now),
                            db_value(Shift, "stretch_started_at", stretch), shift.pk]
            row = claim_lend(params, stamp, shift_params, standby)
            if row is not None:
                assignment.clip_id = Clip._meta.pk.to_python(row[0])
                assignment.account_id = Account._meta.pk.to_python(row[1]) if row[1] is not None else None
                if not row[2]:  # cannot happen while the row lock or writer lock is held
                    raise RuntimeError("claimed clip changed state under its lock")
                assignment._state.adding = False
                ledger_append(action=LedgerEntry.Action.CLIP_CLAIM, actor_id=annotator.pk,
                              account_id=assignment.account_id, clip_id=assignment.clip_id,
                              assignment_id=assignment.id, detail={"purpose": Purpose.TRANSCRIPTION})
                return assignment
            if standby:
                return None
            # The claim statement found one open already: the living ones were handed back above, so
            # it has run out. Requeue it and try once more.
            expired = list(Assignment.objects.select_for_update().filter(
                annotator=annotator, state=AssignmentState.OPEN, lease_expires_at__lte=now).exclude(
                purpose__in=SUPERVISOR_PURPOSES).values_list("id", flat=True))
            if not expired:
                return None
            close_and_requeue(expired, AssignmentState.EXPIRED, now)
    return None


def _held(annotator: AbstractBaseUser, now: datetime) -> dict[bool, Assignment]:
    """The annotator's open clips with a living lease: {False: the one they work on, True: the one in standby}."""
    rows = Assignment.objects.filter(annotator=annotator, state=AssignmentState.OPEN, lease_expires_at__gt=now
                                     ).exclude(purpose__in=SUPERVISOR_PURPOSES)
    return {assignment.standby: assignment for assignment in rows}


def promote_standby(annotator: AbstractBaseUser, now: datetime) -> None:
    """The clip in standby, if any, becomes the one the annotator works on, with a fresh lease.
    Caller is in a transaction that has closed the previous one."""
    Assignment.objects.filter(annotator=annotator, state=AssignmentState.OPEN, standby=True,
                              lease_expires_at__gt=now).update(
        standby=False, lease_expires_at=now + timedelta(seconds=settings.ASSIGNMENT_LEASE_SECONDS))


def _flagged_allowed(shift: Shift, rules) -> bool:
    """May this shift be lent a clip someone flagged? Not over the exposure budget, and never as the
    next clip after the annotator's own flag."""
    if shift.exposure_seconds >= rules.exposure_budget.total_seconds():
        return False
    return shift.last_flag_at is None or (shift.last_claim_at is not None and shift.last_claim_at > shift.last_flag_at)


def _lend_second_opinion(*, annotator: AbstractBaseUser, shift: Shift, flagged_ok: bool, now: datetime,
                         stretch: datetime, standby: bool = False) -> Assignment | None:
    """Lend the oldest waiting second opinion this annotator may answer: never their own, never a
    clip they had before, within consent and the linkability limit. Caller holds the shift's lock."""
    waiting = (SecondOpinion.objects.select_for_update(skip_locked=True, of=("self",))
               .filter(state=SecondOpinionState.PENDING, clip__status__in=[ClipStatus.ASSIGNED, ClipStatus.LABELED])
               .exclude(asked_by=annotator)
               .filter(clip__project__in=project_ids_of(user=annotator, role=ProjectRole.ANNOTATOR))
               .exclude(clip__in=Assignment.objects.filter(annotator=annotator).values("clip_id"))
               .select_related("clip").only("id", "kind", *(f"clip__{name}" for name in SERVABILITY_FIELDS))
               .order_by("created_at"))
    if not flagged_ok:
        waiting = waiting.filter(clip__flag_category="")
    else:
        waiting = waiting.exclude(clip__flag_category__in=CategoryOptOut.objects.filter(user=annotator)
                                  .values("category"))
    for opinion in waiting[:5]:
        clip = opinion.clip
        purpose = Purpose.AGREEMENT if opinion.kind == OpinionKind.AGREEMENT else Purpose.SECOND_OPINION
        if not _may_hear(annotator, clip, purpose, now):
            continue
        assignment = _lend_outside_claim(annotator=annotator, shift=shift, clip=clip, purpose=purpose, now=now,
                                         stretch=stretch, standby=standby)
        if assignment is not None:
            SecondOpinion.objects.filter(pk=opinion.pk).update(state=SecondOpinionState.ANSWERING,
                                                               answer_assignment=assignment)
        return assignment
    return None


def _lend_outside_claim(*, annotator: AbstractBaseUser, shift: Shift, clip: Clip, purpose: str, now: datetime,
                        stretch: datetime, standby: bool) -> Assignment | None:
    """Lend a clip the claim statement does not pick (a second opinion, a gold clip), counted on the
    shift and in the ledger like a claim; None if the unique indexes refuse it. Caller holds the
    shift's lock and checked _may_hear."""
    try:
        with transaction.atomic():  # the unique indexes refuse a second open assignment
            assignment = Assignment.objects.create(
                clip_id=clip.id, account_id=clip.account_id, annotator=annotator, shift=shift, purpose=purpose,
                created_at=now, standby=standby,
                lease_expires_at=now + timedelta(seconds=settings.ASSIGNMENT_LEASE_SECONDS))
    except IntegrityError:
        return None
    Shift.objects.filter(pk=shift.pk).update(last_claim_at=now, last_active_at=now, stretch_started_at=stretch,
                                             clips_claimed=F("clips_claimed") + 1)
    ledger_append(action=LedgerEntry.Action.CLIP_CLAIM, actor_id=annotator.pk, account_id=clip.account_id,
                  clip_id=clip.id, assignment_id=assignment.id, detail={"purpose": purpose})
    return assignment


def _may_hear(annotator: AbstractBaseUser, clip: Clip, purpose: str, now: datetime) -> bool:
    """What the claim statement checks, for clips lent outside it: the servability rule, and the
    linkability limit."""
    if not servability.servable(clip, purpose, now=now):
        return False
    since = now - timedelta(days=settings.LINKABILITY_DAYS)
    heard = Assignment.objects.filter(annotator=annotator, account_id=clip.account_id, created_at__gt=since)
    return heard.count() < settings.LINKABILITY_MAX_CLIPS


def _lend_gold(*, annotator: AbstractBaseUser, shift: Shift, now: datetime, stretch: datetime,
               standby: bool = False) -> Assignment | None:
    """In each project's gold_share of claims, lend a gold clip of the project this annotator never
    had. It is shown like any other clip (SHOWN_PURPOSE). Caller holds the shift's lock."""
    draw = secrets.randbelow(1_000_000) / 1_000_000
    if draw >= shift.gold_share_max:  # no project of theirs lends gold this time: no query
        return None
    projects = Project.objects.filter(pk__in=project_ids_of(user=annotator, role=ProjectRole.ANNOTATOR),
                                      gold_share__gt=draw).values("id")
    golds = (GoldClip.objects.filter(project__in=projects, clip__status=ClipStatus.LABELED, clip__flag_category="",
                                     clip__wrapped_key__isnull=False)
             .exclude(clip__in=Assignment.objects.filter(annotator=annotator).values("clip_id"))
             .select_related("clip").only("id", *(f"clip__{name}" for name in SERVABILITY_FIELDS)).order_by("?"))
    for gold in golds[:3]:
        if _may_hear(annotator, gold.clip, Purpose.GOLD, now):
            return _lend_outside_claim(annotator=annotator, shift=shift, clip=gold.clip, purpose=Purpose.GOLD,
                                       now=now, stretch=stretch, standby=standby)
    return None


def live_assignment(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser, lock: bool,
                    working: bool = True, clip_fields: tuple[str, ...] = ()) -> Assignment:
    """The annotator's open assignment with a living lease, or the error that explains why not.
    `working`: the one they work on; a clip in standby may only be fetched ahead (audio, peaks).
    `clip_fields`: read its clip with these fields in the same statement (without a lock)."""
    assignment = assignment_for_annotator(assignment_id=assignment_id, annotator=annotator, lock=lock,
                                          clip_fields=clip_fields)
    if assignment is None:
        raise NotFound("not_found", "No such assignment.")
    if assignment.state == AssignmentState.REVOKED:
        raise Gone("withdrawn", "This clip was withdrawn by its owner.")
    if assignment.state == AssignmentState.POLICY_CHANGED:
        raise Gone("policy_unconfirmed", servability.REFUSALS["policy"])
    if assignment.state == AssignmentState.ESCALATED:
        raise Conflict("escalated", "This clip was flagged and is with a supervisor now.")
    if assignment.state != AssignmentState.OPEN:
        raise Conflict("assignment_closed", f"This assignment is {assignment.state}.")
    if assignment.lease_expires_at <= timezone.now():
        raise Conflict("lease_expired", "The time for this clip ran out; ask for the next one.")
    if working and assignment.standby:
        raise Conflict("next_in_line", "This clip is next in line: finish the one before it first.")
    return assignment


# ---------------------------------------------------------------- flag categories, supervisors' listening


def valid_flag_category(category: str) -> str:
    if category not in FlagCategory.values:
        raise ApplicationError("invalid_category", f"Choose one of: {', '.join(FlagCategory.values)}.",
                               fields={"category": ["Unknown category."]})
    return category


def supervisor_listening(*, clip: Clip, supervisor: AbstractBaseUser, purpose: str) -> Assignment:
    """An assignment through which a supervisor may hear a clip, watermarked like any other: the
    open one if its lease lives, else a new one. The servability rule is checked here and again at
    every stream."""
    now = timezone.now()
    refuse_unless_servable(clip, purpose, now)
    current = Assignment.objects.select_for_update().filter(
        clip=clip, annotator=supervisor, purpose=purpose, state=AssignmentState.OPEN).first()
    if current is not None and current.lease_expires_at > now:
        return current
    if current is not None:
        Assignment.objects.filter(pk=current.pk).update(state=AssignmentState.EXPIRED, closed_at=now)
    return Assignment.objects.create(
        clip=clip, account_id=clip.account_id, annotator=supervisor, shift=None, purpose=purpose, created_at=now,
        lease_expires_at=now + timedelta(seconds=settings.ASSIGNMENT_LEASE_SECONDS))


# ---------------------------------------------------------------- annotators' content settings


def annotator_opt_outs_set(*, annotator: AbstractBaseUser, categories: list[str]) -> list[str]:
    """The flagged categories this annotator does not want to hear, replacing the earlier choice."""
    chosen = sorted({valid_flag_category(c) for c in categories}, key=FLAG_SEVERITY.get)
    with transaction.atomic():
        CategoryOptOut.objects.filter(user=annotator).exclude(category__in=chosen).delete()
        for category in chosen:
            CategoryOptOut.objects.get_or_create(user=annotator, category=category)
    return chosen




def annotator_settings_set(*, annotator: AbstractBaseUser, categories: list[str] | None = None,
                           volume: float | None = None, muted_start: str | None = None) -> None:
    """Change the annotator's settings named (not None), all or none: the flagged categories they do
    not want to hear, and how their page plays sound (volume 0 to 1, muted_start a MutedStart value)."""
    changes = _preference_changes(volume=volume, muted_start=muted_start)
    if categories is not None:
        categories = [valid_flag_category(c) for c in categories]
    with transaction.atomic():
        if categories is not None:
            annotator_opt_outs_set(annotator=annotator, categories=categories)
        if changes:
            AnnotatorPreference.objects.update_or_create(user=annotator, defaults=changes)


def _preference_changes(*, volume: float | None, muted_start: str | None) -> dict:
    changes = {}
    if volume is not None:
        if isinstance(volume, bool) or not isinstance(volume, (int, float)) or not math.isfinite(volume) \
                or not 0 <= volume <= 1:
            raise ApplicationError("invalid_volume", "The volume is a number from 0 (silent) to 1 (full).",
                                   fields={"volume": ["From 0 to 1."]})
        changes["volume"] = float(volume)
    if muted_start is not None:
        if muted_start not in MutedStart.values:
            raise ApplicationError("invalid_muted_start", f"Choose one of: {', '.join(MutedStart.values)}.",
                                   fields={"muted_start": ["Unknown choice."]})
        changes["muted_start"] = muted_start
    return changes
