"""Reads of clips, shifts and assignments."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Avg, Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import TruncHour

from core.errors import NotFound
from labeling.models import (
    Assignment,
    AssignmentState,
    CategoryOptOut,
    Clip,
    Escalation,
    EscalationState,
    FlagCategory,
    GoldResult,
    IngestKey,
    LegalHold,
    OpinionKind,
    Project,
    ProjectMember,
    ProjectRole,
    SecondOpinion,
    SecondOpinionState,
    Shift,
    Team,
    TeamMember,
    Transcript,
    TranscriptFlag,
)
from labeling.work_rules import DAY, WorkRules, worked


def ingest_key_for(*, raw: str) -> IngestKey | None:
    """The active key matching a presented secret, compared in constant time."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != "vr":
        return None
    key = IngestKey.objects.filter(prefix=parts[1], revoked_at__isnull=True).first()
    if key is None:
        return None
    digest = hashlib.sha256(raw.encode()).hexdigest()
    return key if hmac.compare_digest(digest, key.key_hash) else None


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
    """The annotator's open shift, row-locked (the caller is in a transaction), their team's rules
    and whether second opinions are waiting, in one statement. This is on every claim, so it is
    written out rather than built by the ORM each time (that cost more than running it)."""
    lock = " FOR UPDATE OF s" if connection.features.has_select_for_update_of else ""
    rules = ", ".join(f"t.{name} AS team_{name}" for name in RULE_FIELDS)
    sql = (f"SELECT s.*, EXISTS (SELECT 1 FROM {SecondOpinion._meta.db_table} o WHERE o.state = %s) "
           f"AS opinions_waiting, {rules} FROM {Shift._meta.db_table} s "
           f"LEFT JOIN {TeamMember._meta.db_table} m ON m.user_id = s.annotator_id "
           f"LEFT JOIN {Team._meta.db_table} t ON t.id = m.team_id "
           f"WHERE s.annotator_id = %s AND s.ended_at IS NULL{lock}")
    shift = next(iter(Shift.objects.raw(sql, [SecondOpinionState.PENDING, annotator.pk])), None)
    if shift is None:
        return None, work_rules_of(None)
    team_values = {name: getattr(shift, f"team_{name}") for name in RULE_FIELDS}
    has_team = team_values[RULE_FIELDS[0]] is not None
    shift.opinions_waiting = bool(shift.opinions_waiting)  # any second opinion waiting for an answer
    return shift, work_rules_of(Team(**team_values) if has_team else None)


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


def assignment_for_annotator(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser, lock: bool) -> Assignment | None:
    """Only the assignee ever finds an assignment; for anyone else it does not exist."""
    queryset = Assignment.objects.filter(pk=assignment_id, annotator=annotator)
    if lock:
        queryset = queryset.select_for_update()
    return queryset.first()


def clips_held(*, limit: int = 200) -> list[Clip]:
    """Clips kept from review, newest first, with their reasons; no identifier of the owner is loaded."""
    return list(
        Clip.objects.filter(status="held")
        .order_by("-updated_at")
        .only("id", "status_reason", "last_error", "updated_at", "input_seconds")[:limit]
    )


def clip_status_counts() -> dict[str, int]:
    rows = Clip.objects.values("status").annotate(n=Count("id")).order_by()
    return {row["status"]: row["n"] for row in rows}


def held_reason_counts() -> dict[str, int]:
    """Held clips per reason, the reason's kind only ("decode_failed: corrupt_audio" counts as decode_failed)."""
    counts: dict[str, int] = {}
    for row in Clip.objects.filter(status="held").values("status_reason").annotate(n=Count("id")).order_by():
        kind = row["status_reason"].split(":", 1)[0].strip() or "unknown"
        counts[kind] = counts.get(kind, 0) + row["n"]
    return counts


# ---------------------------------------------------------------- escalations and wellbeing


def escalations_unresolved(*, now: datetime) -> list[Escalation]:
    """The supervisors' queue: most severe category first, then oldest; each with `overdue` and
    `on_hold` set. Nothing that identifies the data subject is loaded."""
    holds = LegalHold.objects.in_force(now).filter(clip_id=OuterRef("clip_id"))
    rows = list(
        Escalation.objects.filter(state__in=[EscalationState.OPEN, EscalationState.CLAIMED])
        .select_related("claimed_by").annotate(on_hold=Exists(holds))
        .defer("annotator_text").order_by("severity", "created_at")
    )
    for escalation in rows:
        escalation.overdue = escalation.due_at <= now
    return rows


def escalation_holds(*, escalation: Escalation, now: datetime) -> list[LegalHold]:
    return list(LegalHold.objects.in_force(now).filter(clip_id=escalation.clip_id).order_by("expires_at"))


def second_opinions_for_adjudication() -> list[SecondOpinion]:
    return list(SecondOpinion.objects.filter(state=SecondOpinionState.ADJUDICATION)
                .only("id", "kind", "start_seconds", "end_seconds", "difference", "created_at").order_by("created_at"))


def second_opinions_asked_by(*, annotator: AbstractBaseUser, limit: int = 20) -> list[SecondOpinion]:
    # An agreement sample is not theirs to know of: both readings are blind.
    asked = SecondOpinion.objects.filter(asked_by=annotator, kind=OpinionKind.ASKED)
    return list(asked.order_by("-created_at")[:limit])


def opt_outs_of(*, annotator: AbstractBaseUser) -> list[str]:
    chosen = set(CategoryOptOut.objects.filter(user=annotator).values_list("category", flat=True))
    return [category for category in FlagCategory.values if category in chosen]


@dataclass(frozen=True)
class ExposureRow:
    annotator: str
    shift_started_at: datetime
    exposure_minutes: float
    budget_minutes: float
    flags: int


def exposure_by_annotator(*, now: datetime) -> list[ExposureRow]:
    """Flagged content heard in each shift of the last 24 hours, against its budget, most first."""
    shifts = (Shift.objects.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=now - DAY))
              .select_related("annotator").order_by("-exposure_seconds", "-started_at")[:50])
    flags = dict(Escalation.objects.filter(created_at__gt=now - DAY).values("assignment__shift_id")
                 .annotate(n=Count("id")).values_list("assignment__shift_id", "n"))
    rows = []
    for shift in shifts:
        rules = work_rules_for(annotator=shift.annotator)
        rows.append(ExposureRow(shift.annotator.get_username(), shift.started_at, shift.exposure_seconds / 60,
                                rules.exposure_budget.total_seconds() / 60, flags.get(shift.pk, 0)))
    return rows


def clips_labeled_per_hour(*, now: datetime, hours: int = 24) -> list[tuple[datetime, int]]:
    """Transcripts submitted in each of the last `hours` whole hours, oldest first."""
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=hours)
    counts = dict(Transcript.objects.filter(created_at__gte=start).annotate(hour=TruncHour("created_at"))
                  .values("hour").annotate(n=Count("id")).values_list("hour", "n"))
    return [(start + timedelta(hours=h), counts.get(start + timedelta(hours=h), 0)) for h in range(hours)]


def wellbeing_checks_requested(*, now: datetime, days: int = 7) -> list[Escalation]:
    return list(Escalation.objects.filter(outcome="wellbeing_check", resolved_at__gt=now - timedelta(days=days))
                .select_related("flagged_by", "resolved_by").only(
                    "id", "category", "resolved_at", "flagged_by__username", "resolved_by__username")
                .order_by("-resolved_at"))


# ---------------------------------------------------------------- what a data subject sees of their clips

CLIP_STATE_WORDS = {
    "received": "being prepared for review",
    "processing": "being prepared for review",
    "queued": "waiting for review",
    "assigned": "being reviewed",
    "labeled": "reviewed",
    "discarded": "not retained",
    "held": "kept from review",
    "escalated": "with a supervisor",
    "withdrawn": "withdrawn from review",
    "deleted": "deleted",
}


# Why a clip is where it is, in the owner's words; anything else is a technical hold reason.
REASON_WORDS = {
    "no_review_consent": "you had not agreed to human review",
    "accidental": "the device probably woke by mistake",
    "not_sampled": "not picked for review",
    "no_speech": "no speech in it",
    "consent_revoked": "you withdrew your consent",
    "deletion_requested": "you asked for it to be deleted",
    "deleted_by_owner": "you deleted it",
    "deleted_by_owner_after_hold": "you deleted it; a legal hold kept it until it ended",
    "purged_after_escalation": "deleted by a supervisor after a review",
    "retention": "kept no longer than our retention period",
}


@dataclass(frozen=True)
class OwnClip:
    id: uuid.UUID
    received_at: datetime
    recorded_at: datetime | None
    duration_seconds: float | None
    state: str
    state_words: str
    reason: str
    changed_at: datetime
    hold_ends_at: datetime | None
    deletion_requested: bool


def clips_of_account(*, account_id: uuid.UUID, now: datetime, limit: int = 1000) -> list[OwnClip]:
    """The owner's clips, newest first, with their state in plain words and why; deleted ones as
    tombstones."""
    holds = LegalHold.objects.in_force(now).filter(clip_id=OuterRef("pk")).order_by("-expires_at")
    rows = (Clip.objects.filter(account_id=account_id)
            .annotate(hold_ends_at=Subquery(holds.values("expires_at")[:1]))
            .only("id", "created_at", "recorded_at", "duration_seconds", "status", "status_reason", "updated_at",
                  "deletion_requested_at").order_by("-created_at")[:limit])
    return [OwnClip(clip.id, clip.created_at, clip.recorded_at, clip.duration_seconds, clip.status,
                    CLIP_STATE_WORDS.get(clip.status, clip.status),
                    REASON_WORDS.get(clip.status_reason, "it could not be prepared safely" if clip.status == "held"
                                     else clip.status_reason), clip.updated_at,
                    clip.hold_ends_at, clip.deletion_requested_at is not None) for clip in rows]


@dataclass(frozen=True)
class Hearing:
    """One person's time with one of the owner's clips."""

    clip: uuid.UUID
    reviewer: str  # a stable pseudonym, never a name
    purpose: str
    given_at: datetime
    plays: int
    heard_seconds: float | None  # plays x the clip's length, while the length is known
    held_seconds: float | None  # from being given the clip to handing it back
    legal_hold_ends_at: datetime | None


def hearings_of_account(*, account_id: uuid.UUID, now: datetime, limit: int = 1000) -> list[Hearing]:
    """Every time a reviewer or supervisor was given one of the account's clips, newest first."""
    from consent.selectors import reviewer_pseudonym  # consent's reads; labeling sits above consent

    holds = LegalHold.objects.in_force(now).filter(clip_id=OuterRef("clip_id")).order_by("-expires_at")
    rows = (Assignment.objects.filter(clip__account_id=account_id)
            .annotate(hold_ends_at=Subquery(holds.values("expires_at")[:1]))
            .select_related("clip").only("clip_id", "annotator_id", "purpose", "created_at", "closed_at", "plays",
                                         "clip__duration_seconds")
            .order_by("-created_at")[:limit])
    hearings = []
    for row in rows:
        length = row.clip.duration_seconds
        hearings.append(Hearing(
            row.clip_id, reviewer_pseudonym(row.annotator_id), row.purpose, row.created_at, row.plays,
            round(row.plays * length, 1) if length is not None else None,
            round((row.closed_at - row.created_at).total_seconds()) if row.closed_at else None,
            row.hold_ends_at))
    return hearings


def project_schema(*, project: Project) -> dict:
    """What the editor offers for a project's clips: intents, entity types, flags."""
    return {"name": project.name, "intents": project.intents, "entity_types": project.entity_types,
            "flags": [flag for flag in TranscriptFlag.values if flag in project.flags]}


def projects_of(*, user: AbstractBaseUser) -> list[dict]:
    """The projects a person belongs to, with their role in each and the label schema."""
    rows = (ProjectMember.objects.filter(user=user).select_related("project").order_by("project__name", "role"))
    projects: dict[int, dict] = {}
    for member in rows:
        entry = projects.setdefault(member.project_id, {
            "slug": member.project.slug, "roles": [], **project_schema(project=member.project),
            "locale": member.project.locale, "sample_rate": member.project.sample_rate})
        entry["roles"].append(member.role)
    return list(projects.values())


@dataclass(frozen=True)
class AccuracyRow:
    annotator: str
    gold_clips: int
    word_error_rate: float  # mean over the gold clips


def accuracy_by_annotator(*, project: Project, since: datetime) -> list[AccuracyRow]:
    """Each annotator's word error rate against the project's gold clips since a time, worst first."""
    rows = (GoldResult.objects.filter(project=project, created_at__gt=since).values("annotator__username")
            .annotate(n=Count("id"), wer=Avg("word_error_rate")).order_by("-wer", "annotator__username"))
    return [AccuracyRow(row["annotator__username"], row["n"], row["wer"]) for row in rows]


@dataclass(frozen=True)
class Agreement:
    samples: int  # clips transcribed twice, blind, with both readings in
    word_error_rate: float | None  # mean between the two readings
    over_limit: int  # went to a supervisor
    waiting: int  # sampled, second reading not in yet


def agreement_of(*, project: Project, since: datetime) -> Agreement:
    samples = SecondOpinion.objects.filter(kind=OpinionKind.AGREEMENT, clip__project=project, created_at__gt=since)
    answered = samples.filter(difference__isnull=False)
    figures = answered.aggregate(n=Count("id"), wer=Avg("difference"),
                                 over=Count("id", filter=Q(difference__gt=project.agreement_max_difference)))
    waiting = samples.filter(state__in=[SecondOpinionState.PENDING, SecondOpinionState.ANSWERING]).count()
    return Agreement(figures["n"], figures["wer"], figures["over"], waiting)


def project_ids_of(*, user: AbstractBaseUser, role: str):
    """The ids of the projects this person is a member of in this role, as a subquery."""
    return ProjectMember.objects.filter(user=user, role=role).values("project_id")


def projects_supervised(*, supervisor: AbstractBaseUser) -> list[Project]:
    return list(Project.objects.filter(pk__in=project_ids_of(user=supervisor, role=ProjectRole.SUPERVISOR))
                .order_by("name"))


def supervised_project(*, supervisor: AbstractBaseUser, slug: str) -> Project:
    """The project, if this person supervises it; otherwise it does not exist for them."""
    project = Project.objects.filter(slug=slug, pk__in=project_ids_of(user=supervisor, role=ProjectRole.SUPERVISOR)
                                     ).first()
    if project is None:
        raise NotFound("not_found", f"You supervise no project '{slug}'.")
    return project


