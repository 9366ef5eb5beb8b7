"""Reads of escalation: the open queue, holds, exposure to flagged content, wellbeing checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, OuterRef, Q

from labeling.models import (
    Escalation,
    EscalationState,
    LegalHold,
    Shift,
)
from labeling.review.selectors import work_rules_for
from labeling.work_rules import DAY


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


def wellbeing_checks_requested(*, now: datetime, days: int = 7) -> list[Escalation]:
    return list(Escalation.objects.filter(outcome="wellbeing_check", resolved_at__gt=now - timedelta(days=days))
                .select_related("flagged_by", "resolved_by").only(
                    "id", "category", "resolved_at", "flagged_by__username", "resolved_by__username")
                .order_by("-resolved_at"))
