"""Reads of review: shifts, work rules, assignments and whether they may still be heard, questions asked,
opt-outs and sound preferences."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from core import rows
from labeling import servability
from labeling.models import (
    AnnotatorPreference,
    Assignment,
    AssignmentState,
    CategoryOptOut,
    Clip,
    ClipStatus,
    FlagCategory,
    MutedStart,
    OpinionKind,
    Project,
    ProjectMember,
    ProjectRole,
    SecondOpinion,
    SecondOpinionState,
    Shift,
    Team,
    TeamMember,
)
from labeling.work_rules import DAY, WorkRules, worked


def shift_current(*, annotator: AbstractBaseUser) -> Shift | None:
    return Shift.objects.filter(annotator=annotator, ended_at__isnull=True).first()


def work_rules_for(*, annotator: AbstractBaseUser) -> WorkRules:
    """The rules of the annotator's team, or the installation's defaults."""
    member = TeamMember.objects.select_related("team").filter(user=annotator).first()
    return work_rules_of(member.team if member else None)


def work_rules_of(team: Team | None) -> WorkRules:
    if team is None:
        values = (settings.WORK_MAX_SHIFT_MINUTES, settings.WORK_MAX_CLIPS_PER_SHIFT, settings.WORK_BREAK_AFTER_MINUTES,
                  settings.WORK_BREAK_MINUTES, settings.WORK_MIN_CLAIM_INTERVAL_SECONDS,
                  settings.WORK_FLAG_BREAK_MINUTES, settings.WORK_EXPOSURE_BUDGET_MINUTES)
    else:
        values = tuple(getattr(team, name) for name in RULE_FIELDS)
    shift_minutes, clips, break_after_minutes, break_minutes, interval_seconds, flag_break, budget = values
    return WorkRules(max_shift=timedelta(minutes=shift_minutes), max_clips=clips,
                     break_after=timedelta(minutes=break_after_minutes), break_length=timedelta(minutes=break_minutes),
                     min_claim_interval=timedelta(seconds=interval_seconds),
                     flag_break=timedelta(minutes=flag_break), exposure_budget=timedelta(minutes=budget))


RULE_FIELDS = ("max_shift_minutes", "max_clips_per_shift", "break_after_minutes", "break_minutes",
               "min_claim_interval_seconds", "flag_break_minutes", "exposure_budget_minutes")


def shift_for_claim(*, annotator: AbstractBaseUser) -> tuple[Shift | None, WorkRules]:
    """The annotator's open shift, row-locked (the caller is in a transaction), their team's rules,
    whether second opinions are waiting and the largest gold share of their projects, in one
    statement. This is on every claim, so it is written out rather than built by the ORM each time
    (that cost more than running it)."""
    found = rows.fetch(_shift_for_claim_sql(connection.features.has_select_for_update_of),
                       [SecondOpinionState.PENDING, ProjectRole.ANNOTATOR, annotator.pk])
    if not found:
        return None, work_rules_of(None)
    row = found[0]
    shift = rows.instance(Shift, row)
    opinions_waiting, gold_share_max, *team_values = row[len(Shift._meta.concrete_fields):]
    shift.opinions_waiting = bool(opinions_waiting)  # any second opinion waiting for an answer
    shift.gold_share_max = gold_share_max or 0.0  # the largest gold share of their projects
    has_team = team_values[0] is not None
    return shift, work_rules_of(Team(**dict(zip(RULE_FIELDS, team_values, strict=True))) if has_team else None)


@cache
def _shift_for_claim_sql(lock_of: bool) -> str:
    rules = ", ".join(f"t.{name}" for name in RULE_FIELDS)
    return (f"SELECT {rows.columns_sql(Shift, 's')}, "
            f"EXISTS (SELECT 1 FROM {SecondOpinion._meta.db_table} o WHERE o.state = %s), "
            f"(SELECT MAX(p.gold_share) FROM {Project._meta.db_table} p "
            f"JOIN {ProjectMember._meta.db_table} pm ON pm.project_id = p.id "
            f"WHERE pm.user_id = s.annotator_id AND pm.role = %s), "
            f"{rules} FROM {Shift._meta.db_table} s "
            f"LEFT JOIN {TeamMember._meta.db_table} m ON m.user_id = s.annotator_id "
            f"LEFT JOIN {Team._meta.db_table} t ON t.id = m.team_id "
            f"WHERE s.annotator_id = %s AND s.ended_at IS NULL{' FOR UPDATE OF s' if lock_of else ''}")


def shifts_in_last_day(*, annotator: AbstractBaseUser, now: datetime) -> list[tuple[datetime, datetime | None]]:
    """(started, ended) of the annotator's shifts that overlap the 24 hours before now."""
    return list(
        Shift.objects.filter(annotator=annotator)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=now - DAY))
        .values_list("started_at", "ended_at")
    )


def shift_progress(*, shift: Shift, now: datetime) -> dict:
    """What the annotator page shows of a shift: clips against the quota, time against the limit,
    when the next break is due."""
    rules = work_rules_for(annotator=shift.annotator)
    stretch = shift.stretch_started_at
    if shift.last_active_at is None or now - shift.last_active_at >= rules.break_length:
        stretch = None  # rested: the next claim starts a new stretch
    return {
        "started_at": shift.started_at,
        "ended_at": shift.ended_at,
        "clips_done": shift_done_count(shift=shift),
        "clips_claimed": shift.clips_claimed,
        "max_clips": rules.max_clips,
        "worked_seconds": int(worked(shifts_in_last_day(annotator=shift.annotator, now=now), at=now,
                                     now=now).total_seconds()),
        "max_shift_seconds": int(rules.max_shift.total_seconds()),
        "break_due_at": stretch + rules.break_after if stretch else None,
        "break_minutes": int(rules.break_length.total_seconds() // 60),
    }


def shift_done_count(*, shift: Shift | int) -> int:
    return Assignment.objects.filter(shift=shift, state=AssignmentState.SUBMITTED).count()


def claimed_clip(*, clip_id: uuid.UUID, shift_id: int) -> dict:
    """What a claim answers with about its clip: its length, language, draft and flag, its project's
    label schema, and the count of clips submitted in the shift, in one statement (every claim and
    every submit that hands over the next clip asks)."""
    row = rows.fetch(_CLAIMED_CLIP_SQL, [
        shift_id, AssignmentState.SUBMITTED, Clip._meta.pk.get_db_prep_value(clip_id, connection)])[0]
    project = rows.instance(Project, row, _CLAIMED_PROJECT_FIELDS)
    clip = rows.instance(Clip, row[len(_CLAIMED_PROJECT_FIELDS):], _CLAIMED_CLIP_FIELDS)
    return {"duration_seconds": clip.duration_seconds, "locale": clip.locale,
            "draft_transcript": clip.draft_transcript, "flag_category": clip.flag_category,
            "clips_done": row[-1], "project": project}


_CLAIMED_PROJECT_FIELDS = ("id", "name", "intents", "entity_types", "flags")
_CLAIMED_CLIP_FIELDS = ("duration_seconds", "locale", "draft_transcript", "flag_category")
_CLAIMED_CLIP_SQL = (
    f"SELECT {rows.columns_sql(Project, 'p', _CLAIMED_PROJECT_FIELDS)}, "
    f"{rows.columns_sql(Clip, 'c', _CLAIMED_CLIP_FIELDS)}, "
    f"(SELECT COUNT(*) FROM {Assignment._meta.db_table} a WHERE a.shift_id = %s AND a.state = %s) "
    f"FROM {Clip._meta.db_table} c JOIN {Project._meta.db_table} p ON p.id = c.project_id WHERE c.id = %s")


def assignment_for_annotator(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser, lock: bool,
                             clip_fields: tuple[str, ...] = ()) -> Assignment | None:
    """Only the assignee ever finds an assignment; for anyone else it does not exist. With
    `clip_fields` (and no lock), its clip comes in the same statement with those fields, and so does
    what the servability rule reads beyond the clip's row, as of now: `assignment.clip_rule`, the
    `read` of servability.refusal (the audio and its envelope are fetched often: one statement)."""
    if clip_fields and not lock:
        return _assignment_with_clip(assignment_id, annotator, tuple(clip_fields))
    queryset = Assignment.objects.filter(pk=assignment_id, annotator=annotator)
    if lock:
        queryset = queryset.select_for_update()
    return queryset.first()


def _assignment_with_clip(assignment_id: uuid.UUID, annotator: AbstractBaseUser,
                          clip_fields: tuple[str, ...]) -> Assignment | None:
    found = rows.fetch(_assignment_with_clip_sql(clip_fields), [
        *servability.rule_params(timezone.now()), rows.db_value(Assignment, "id", assignment_id), annotator.pk])
    if not found:
        return None
    row = found[0]
    assignment = rows.instance(Assignment, row)
    assignment.clip = rows.instance(Clip, row[len(Assignment._meta.concrete_fields):], clip_fields)
    assignment.clip_rule = {"held": bool(row[-2]), "consent": row[-1]}
    return assignment


@cache
def _assignment_with_clip_sql(clip_fields: tuple[str, ...]) -> str:
    return (f"SELECT {rows.columns_sql(Assignment, 'a')}, {rows.columns_sql(Clip, 'c', clip_fields)}, "
            f"{servability.rule_columns_sql('c')} "
            f"FROM {Assignment._meta.db_table} a JOIN {Clip._meta.db_table} c ON c.id = a.clip_id "
            "WHERE a.id = %s AND a.annotator_id = %s")


def project_of_own_assignment(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser) -> Project | None:
    """The project of an assignment's clip when the assignment is this person's, whatever its state;
    None when it is not: one indexed look-up both checks who holds it and gives the label schema
    their input is checked against (every draft and submit asks)."""
    found = rows.fetch(_PROJECT_OF_OWN_SQL, [rows.db_value(Assignment, "id", assignment_id), annotator.pk])
    return rows.instance(Project, found[0]) if found else None


_PROJECT_OF_OWN_SQL = (
    f"SELECT {rows.columns_sql(Project, 'p')} FROM {Assignment._meta.db_table} a "
    f"JOIN {Clip._meta.db_table} c ON c.id = a.clip_id JOIN {Project._meta.db_table} p ON p.id = c.project_id "
    "WHERE a.id = %s AND a.annotator_id = %s")


def second_opinions_asked_by(*, annotator: AbstractBaseUser, limit: int = 20) -> list[SecondOpinion]:
    # An agreement sample is not theirs to know of: both readings are blind.
    asked = SecondOpinion.objects.filter(asked_by=annotator, kind=OpinionKind.ASKED)
    return list(asked.order_by("-created_at")[:limit])


def opt_outs_of(*, annotator: AbstractBaseUser) -> list[str]:
    chosen = set(CategoryOptOut.objects.filter(user=annotator).values_list("category", flat=True))
    return [category for category in FlagCategory.values if category in chosen]


def preferences_of(*, annotator: AbstractBaseUser) -> dict:
    """How the annotator page plays sound for this annotator: {volume, muted_start}."""
    row = AnnotatorPreference.objects.filter(user=annotator).values("volume", "muted_start").first()
    return row or {"volume": AnnotatorPreference._meta.get_field("volume").default,
                   "muted_start": MutedStart.MARKED}


def muted_start_categories_for(*, annotator_id: int) -> list[str]:
    """The flag categories whose clips start quietly for this annotator: their team's choice, or the
    installation's (WORK_MUTED_START_CATEGORIES) outside any team."""
    member = TeamMember.objects.filter(user_id=annotator_id).values_list("team__muted_start_categories",
                                                                         flat=True).first()
    if member is None:
        return list(settings.WORK_MUTED_START_CATEGORIES)
    return list(member)


# ---------------------------------------------------------------- may the open clip still be heard?

# Why the page holding a clip open must let it go, in the annotator's words. None names its owner.
STATUS_MESSAGES = {
    "withdrawn": "Its owner withdrew this clip from review: it may no longer be heard.",
    "deleted": "This clip was deleted: it may no longer be heard.",
    "lease_expired": "The time for this clip ran out.",
    "taken_away": "This clip was taken out of review and is with a supervisor.",
    "legal_hold": "A legal hold took this clip out of review.",
    "policy_changed": "The review policy changed and this clip's owner has not yet agreed to the new text: "
                      "it may not be heard until they do.",
    "closed": "This clip is no longer yours to work on: it was submitted or skipped, or your shift ended.",
}
# A clip taken out of review or deleted says why in its status_reason: its owner's withdrawal is
# told as such, every other reason (the owner's deletion, a purge, retention) as a deletion.
_WITHDRAWN_REASON = "consent_revoked"
_CLOSED_STATES = (AssignmentState.SUBMITTED, AssignmentState.SKIPPED, AssignmentState.RELEASED)


def assignment_status(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser, now: datetime) -> dict | None:
    """Whether the holder of an assignment may still hear its clip, and if not why (a key of
    STATUS_MESSAGES): the page asks about once a second while the clip is open, so this is one
    indexed statement (the assignment, its clip, and the servability rule's holds and consent) and
    writes nothing. None when the assignment is not this person's."""
    found = rows.fetch(_STATUS_SQL, [
        *servability.rule_params(now), rows.db_value(Assignment, "id", assignment_id), annotator.pk])
    if not found:
        return None
    assignment = rows.instance(Assignment, found[0], _STATUS_FIELDS)
    (assignment.clip_status, assignment.clip_status_reason, assignment.has_audio, assignment.deletion_requested,
     assignment.held, assignment.consent) = found[0][len(_STATUS_FIELDS):]
    reason = _status_reason(assignment, now)
    return {"audible": reason is None, "reason": reason, "message": STATUS_MESSAGES.get(reason),
            "lease_expires_at": assignment.lease_expires_at}


_STATUS_FIELDS = ("id", "state", "purpose", "lease_expires_at")  # in Assignment's own order (core.rows)
_STATUS_SQL = (
    f"SELECT {rows.columns_sql(Assignment, 'a', _STATUS_FIELDS)}, c.status, c.status_reason, "
    "c.wrapped_key IS NOT NULL, c.deletion_requested_at IS NOT NULL, "
    f"{servability.rule_columns_sql('c')} "
    f"FROM {Assignment._meta.db_table} a JOIN {Clip._meta.db_table} c ON c.id = a.clip_id "
    "WHERE a.id = %s AND a.annotator_id = %s")


def _status_reason(assignment: Assignment, now: datetime) -> str | None:
    """`assignment` as _STATUS_SQL reads it: its clip's columns and the rule's beside its own."""
    state = assignment.state
    if state in _CLOSED_STATES:
        return "closed"
    if state == AssignmentState.EXPIRED or (state == AssignmentState.OPEN and assignment.lease_expires_at <= now):
        return "lease_expired"
    if state == AssignmentState.ESCALATED:
        return "taken_away"
    if state == AssignmentState.POLICY_CHANGED:
        return "policy_changed"
    refused = servability.decide(assignment.purpose, status=assignment.clip_status,
                                 has_audio=bool(assignment.has_audio),
                                 deletion_requested=bool(assignment.deletion_requested),
                                 held=bool(assignment.held), consent=assignment.consent)
    if refused is None:
        # Open and servable: it may be heard. Revoked (the owner withdrew) though the clip itself
        # would still be servable: never heard again all the same.
        return None if state == AssignmentState.OPEN else "withdrawn"
    if refused == "consent":
        return "withdrawn"
    if refused in ("deletion_requested", "audio_gone"):
        return "deleted"
    if refused == "legal_hold":
        return "legal_hold"
    if refused == "policy":
        return "policy_changed"
    # The clip left the state this work needs: the clip says why.
    if assignment.clip_status in (ClipStatus.WITHDRAWN, ClipStatus.DELETED):
        return "withdrawn" if assignment.clip_status_reason == _WITHDRAWN_REASON else "deleted"
    return "taken_away" if assignment.clip_status == ClipStatus.ESCALATED else "closed"
