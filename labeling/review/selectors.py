"""Reads of review: shifts, work rules, assignments, questions asked, opt-outs."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Q

from labeling.models import (
    Assignment,
    AssignmentState,
    CategoryOptOut,
    FlagCategory,
    OpinionKind,
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


def second_opinions_asked_by(*, annotator: AbstractBaseUser, limit: int = 20) -> list[SecondOpinion]:
    # An agreement sample is not theirs to know of: both readings are blind.
    asked = SecondOpinion.objects.filter(asked_by=annotator, kind=OpinionKind.ASKED)
    return list(asked.order_by("-created_at")[:limit])


def opt_outs_of(*, annotator: AbstractBaseUser) -> list[str]:
    chosen = set(CategoryOptOut.objects.filter(user=annotator).values_list("category", flat=True))
    return [category for category in FlagCategory.values if category in chosen]
