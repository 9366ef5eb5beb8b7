"""Reads of clips, shifts and assignments."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q

from labeling.models import Assignment, AssignmentState, Clip, IngestKey, Shift, Team, TeamMember
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
                  settings.WORK_BREAK_MINUTES, settings.WORK_MIN_CLAIM_INTERVAL_SECONDS)
    else:
        values = (team.max_shift_minutes, team.max_clips_per_shift, team.break_after_minutes, team.break_minutes,
                  team.min_claim_interval_seconds)
    shift_minutes, clips, break_after_minutes, break_minutes, interval_seconds = values
    return WorkRules(max_shift=timedelta(minutes=shift_minutes), max_clips=clips,
                     break_after=timedelta(minutes=break_after_minutes), break_length=timedelta(minutes=break_minutes),
                     min_claim_interval=timedelta(seconds=interval_seconds))


RULE_FIELDS = ("max_shift_minutes", "max_clips_per_shift", "break_after_minutes", "break_minutes",
               "min_claim_interval_seconds")


def shift_for_claim(*, annotator: AbstractBaseUser) -> tuple[Shift | None, WorkRules]:
    """The annotator's open shift, row-locked (the caller is in a transaction), and their team's
    rules, read in one query of plain values (this is on every claim)."""
    team = "annotator__team_membership__team__"
    row = (Shift.objects.select_for_update(of=("self",)).filter(annotator=annotator, ended_at__isnull=True)
           .values("id", "started_at", "last_claim_at", "last_active_at", "stretch_started_at", "clips_claimed",
                   "earlier_worked_seconds", *(team + name for name in RULE_FIELDS)).first())
    if row is None:
        return None, work_rules_of(None)
    has_team = row[team + RULE_FIELDS[0]] is not None
    rules = work_rules_of(Team(**{name: row[team + name] for name in RULE_FIELDS}) if has_team else None)
    shift = Shift(annotator_id=annotator.pk, **{k: v for k, v in row.items() if not k.startswith(team)})
    shift._state.adding = False
    return shift, rules


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


def shift_done_count(*, shift: Shift) -> int:
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
