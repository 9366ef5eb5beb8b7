"""Quality: supervisors settle second opinions the two readings disagree on, hear labeled clips in
quality reviews and make them gold."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from consent.models import LedgerEntry
from consent.services import ledger_append
from core.errors import Conflict, Gone, NotFound
from core.validation import bounded_text
from labeling import servability
from labeling.models import (
    MAX_TRANSCRIPT_CHARS,
    Assignment,
    AssignmentState,
    Clip,
    ClipStatus,
    GoldClip,
    Purpose,
    SecondOpinion,
    SecondOpinionState,
    Transcript,
)
from labeling.review.services import supervisor_listening
from labeling.selectors import supervised_project


def _opinion_in_adjudication(opinion_id: uuid.UUID) -> SecondOpinion:
    opinion = SecondOpinion.objects.select_for_update(of=("self",)).select_related("clip").filter(
        pk=opinion_id).first()
    if opinion is None:
        raise NotFound("not_found", "No such second opinion.")
    if opinion.state != SecondOpinionState.ADJUDICATION:
        raise Conflict("opinion_closed", f"This second opinion is {opinion.state}.")
    return opinion


def second_opinion_view(*, opinion_id: uuid.UUID, supervisor: AbstractBaseUser) -> SecondOpinion:
    """A supervisor reads both readings to decide between them, under the same rule as hearing the
    stretch (labeling.servability); the reading is in the ledger."""
    with transaction.atomic():
        opinion = _opinion_in_adjudication(opinion_id)
        servability.refuse_unless_servable(opinion.clip, Purpose.ADJUDICATION, timezone.now())
        ledger_append(action=LedgerEntry.Action.TRANSCRIPT_VIEW, actor_id=supervisor.pk,
                      account_id=opinion.clip.account_id, clip_id=opinion.clip_id,
                      detail={"purpose": Purpose.ADJUDICATION})
    return opinion


def second_opinion_listen(*, opinion_id: uuid.UUID, supervisor: AbstractBaseUser) -> Assignment:
    with transaction.atomic():
        # The clip's row before the opinion's, in the order withdrawal takes them.
        clip_id = SecondOpinion.objects.filter(pk=opinion_id).values_list("clip_id", flat=True).first()
        clip = Clip.objects.select_for_update().filter(pk=clip_id).first()
        _opinion_in_adjudication(opinion_id)  # raises unless it awaits a decision
        return supervisor_listening(clip=clip, supervisor=supervisor, purpose=Purpose.ADJUDICATION)


def second_opinion_adjudicate(*, opinion_id: uuid.UUID, supervisor: AbstractBaseUser, text: str) -> SecondOpinion:
    """The supervisor's reading of the stretch settles a second opinion the two annotators disagreed on."""
    text = bounded_text(text, field="text", limit=MAX_TRANSCRIPT_CHARS, required=True,
                        what="your reading of that part")
    now = timezone.now()
    with transaction.atomic():
        opinion = _opinion_in_adjudication(opinion_id)
        opinion.state, opinion.adjudicated_text = SecondOpinionState.ADJUDICATED, text
        opinion.adjudicated_by = supervisor
        opinion.closed_at = now
        opinion.save(update_fields=["state", "adjudicated_text", "adjudicated_by", "closed_at"])
        Assignment.objects.filter(clip_id=opinion.clip_id, annotator=supervisor, purpose=Purpose.ADJUDICATION,
                                  state=AssignmentState.OPEN).update(state=AssignmentState.SUBMITTED, closed_at=now)
        ledger_append(action=LedgerEntry.Action.TRANSCRIPT_SUBMIT, actor_id=supervisor.pk,
                      account_id=opinion.clip.account_id, clip_id=opinion.clip_id,
                      detail={"purpose": Purpose.ADJUDICATION})
    return opinion


def quality_review_start(*, project_slug: str, supervisor: AbstractBaseUser) -> tuple[Assignment, Transcript] | None:
    """Lend a supervisor of the project a labeled clip, picked at random, to hear and perhaps make
    gold: a listening assignment and the transcript (its reading is a ledger entry). None when the
    project has no labeled clip with audio that is not gold already."""
    project = supervised_project(supervisor=supervisor, slug=project_slug)
    with transaction.atomic():
        candidates = (Transcript.objects.filter(clip__project=project, clip__status=ClipStatus.LABELED,
                                                clip__wrapped_key__isnull=False, clip__gold__isnull=True)
                      .exclude(text="").select_related("clip").order_by("?"))
        for transcript in candidates[:5]:
            clip = Clip.objects.select_for_update().filter(pk=transcript.clip_id, status=ClipStatus.LABELED).first()
            if clip is None or not servability.servable(clip, Purpose.QUALITY_REVIEW, now=timezone.now()):
                continue
            listening = supervisor_listening(clip=clip, supervisor=supervisor, purpose=Purpose.QUALITY_REVIEW)
            ledger_append(action=LedgerEntry.Action.TRANSCRIPT_VIEW, actor_id=supervisor.pk,
                          account_id=clip.account_id, clip_id=clip.id, assignment_id=listening.id,
                          detail={"purpose": Purpose.QUALITY_REVIEW})
            return listening, transcript
    return None


def gold_mark(*, assignment_id: uuid.UUID, supervisor: AbstractBaseUser, reference_text: str) -> GoldClip:
    """The supervisor's reference for the clip they are reviewing makes it a gold clip."""
    reference = bounded_text(reference_text, field="reference_text", limit=MAX_TRANSCRIPT_CHARS, required=True,
                             what="the reference transcript")
    now = timezone.now()
    with transaction.atomic():
        listening = (Assignment.objects.select_for_update()
                     .filter(pk=assignment_id, annotator=supervisor, purpose=Purpose.QUALITY_REVIEW).first())
        if listening is None:
            raise NotFound("not_found", "No such quality review.")
        clip = Clip.objects.select_for_update().get(pk=listening.clip_id)
        if listening.state != AssignmentState.OPEN or clip.status != ClipStatus.LABELED:
            raise Gone("withdrawn", "This clip is no longer available.")
        if GoldClip.objects.filter(clip=clip).exists():
            raise Conflict("already_gold", "This clip is a gold clip already.")
        gold = GoldClip.objects.create(clip=clip, project_id=clip.project_id, reference_text=reference,
                                       created_by=supervisor, created_at=now)
        Assignment.objects.filter(pk=listening.pk).update(state=AssignmentState.SUBMITTED, closed_at=now)
        ledger_append(action=LedgerEntry.Action.TRANSCRIPT_SUBMIT, actor_id=supervisor.pk, account_id=clip.account_id,
                      clip_id=clip.id, assignment_id=listening.id, detail={"purpose": Purpose.QUALITY_REVIEW,
                                                                           "gold": True})
    return gold
