"""Reads of quality: second opinions to adjudicate, accuracy on gold clips, agreement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Avg, Count, Q

from labeling.models import (
    GoldResult,
    OpinionKind,
    Project,
    SecondOpinion,
    SecondOpinionState,
)


def second_opinions_for_adjudication() -> list[SecondOpinion]:
    return list(SecondOpinion.objects.filter(state=SecondOpinionState.ADJUDICATION)
                .only("id", "kind", "start_seconds", "end_seconds", "difference", "created_at").order_by("created_at"))


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
