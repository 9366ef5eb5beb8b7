"""The annotator's work on a clip: drafts, submit and skip, second-opinion requests and their
answers, gold scoring and agreement sampling."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from consent.models import Account, LedgerEntry
from consent.services import ledger_append
from core.errors import ApplicationError, Conflict, Gone, NotFound
from core.validation import bounded_text
from labeling.models import (
    ANSWERING_PURPOSES,
    MAX_ENTITIES,
    MAX_OPEN_OPINIONS_PER_ASSIGNMENT,
    MAX_OPINION_SECONDS,
    MAX_TRANSCRIPT_CHARS,
    SUPERVISOR_PURPOSES,
    Assignment,
    AssignmentState,
    Clip,
    GoldClip,
    GoldResult,
    OpinionKind,
    Project,
    Purpose,
    SecondOpinion,
    SecondOpinionState,
    Shift,
    Transcript,
    TranscriptFlag,
)
from labeling.review.claim_sql import close_submitted
from labeling.review.selectors import project_of_own_assignment
from labeling.review.services import close_and_requeue, live_assignment, promote_standby
from redaction.wer import word_error_rate


@dataclass(frozen=True)
class Labels:
    """What an annotator says of a clip: its words and, as the project's schema offers them, an
    intent, entity spans (character offsets into the text) and flags."""

    text: str
    intent: str = ""
    entities: tuple[dict, ...] = ()
    flags: tuple[str, ...] = ()

    def as_json(self) -> dict:
        return {"text": self.text, "intent": self.intent, "entities": list(self.entities), "flags": list(self.flags)}


def _labels_checked(labels: Labels, project: Project, *, final: bool) -> Labels:
    """The labels as stored, or the error that names the wrong field. A draft (`final` False) may
    have no words yet."""
    text = labels.text.strip() if final else labels.text
    if len(text) > MAX_TRANSCRIPT_CHARS:
        raise ApplicationError("transcript_too_long", f"A transcript holds at most {MAX_TRANSCRIPT_CHARS} characters.",
                               fields={"text": ["Too long."]})
    flags = list(dict.fromkeys(labels.flags))
    unknown = [flag for flag in flags if flag not in project.flags]
    if unknown:
        raise ApplicationError("unknown_flag", f"This project offers the flags {', '.join(project.flags) or 'none'}; "
                               f"not {', '.join(map(str, unknown))}.", fields={"flags": ["Unknown flag."]})
    if final and not text and TranscriptFlag.NO_SPEECH not in flags:
        raise ApplicationError("empty_transcript",
                               "Type what you heard before submitting, or flag the clip as no speech.",
                               fields={"text": ["Empty."]})
    if final and text and TranscriptFlag.NO_SPEECH in flags:
        raise ApplicationError("speech_flagged_no_speech", "A clip flagged as no speech has no words: clear the text "
                               "or remove the flag.", fields={"flags": ["Contradicts the text."]})
    if labels.intent and labels.intent not in project.intents:
        raise ApplicationError("unknown_intent", f"'{labels.intent}' is not one of this project's intents.",
                               fields={"intent": ["Unknown intent."]})
    if len(labels.entities) > MAX_ENTITIES:
        raise ApplicationError("too_many_entities", f"At most {MAX_ENTITIES} entity tags per clip.",
                               fields={"entities": ["Too many."]})
    offset = len(labels.text) - len(labels.text.lstrip()) if final else 0  # spans follow the text as typed
    entities, previous_end = [], 0
    for span in sorted(labels.entities, key=lambda e: (e.get("start", 0) if isinstance(e, dict) else 0)):
        start, end, kind = ((span.get("start"), span.get("end"), span.get("type")) if isinstance(span, dict)
                            else (0, 0, 0))
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(labels.text)):
            raise ApplicationError("invalid_entity", "Each entity tag needs a start and end inside the text, start "
                                   "before end.", fields={"entities": ["Span outside the text."]})
        if kind not in project.entity_types:
            raise ApplicationError("unknown_entity_type", f"'{kind}' is not one of this project's entity types.",
                                   fields={"entities": ["Unknown type."]})
        if start < previous_end:
            raise ApplicationError("overlapping_entities", "Entity tags may not overlap.",
                                   fields={"entities": ["Overlapping spans."]})
        if not labels.text[start:end].strip():
            raise ApplicationError("invalid_entity", "An entity tag must cover some words.",
                                   fields={"entities": ["Empty span."]})
        entities.append({"start": start - offset, "end": min(end - offset, len(text)), "type": kind})
        previous_end = end
    return Labels(text=text, intent=labels.intent, entities=tuple(entities), flags=tuple(flags))


def assignment_draft_save(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser, labels: Labels,
                          project: Project | None = None) -> datetime:
    """Keep the editor's work on an open assignment so that a reload or a crash loses nothing.
    `project`: the assignment's, when the caller has read it already."""
    project = project or project_of_own_assignment(assignment_id=assignment_id, annotator=annotator)
    if project is not None:
        labels = _labels_checked(labels, project, final=False)
    now = timezone.now()
    saved = Assignment.objects.filter(pk=assignment_id, annotator=annotator, state=AssignmentState.OPEN,
                                      standby=False, lease_expires_at__gt=now).exclude(
        purpose__in=SUPERVISOR_PURPOSES).update(
        draft=labels.as_json(), draft_saved_at=now)
    if not saved:
        live_assignment(assignment_id=assignment_id, annotator=annotator, lock=False)  # raises the reason
        raise NotFound("not_found", "No such assignment.")
    return now


def transcript_submit(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser, labels: Labels,
                      project: Project | None = None) -> Transcript:
    """`project`: the assignment's, when the caller has read it already."""
    project = project or project_of_own_assignment(assignment_id=assignment_id, annotator=annotator)
    if project is None:
        live_assignment(assignment_id=assignment_id, annotator=annotator, lock=False)
        raise NotFound("not_found", "No such assignment.")
    labels = _labels_checked(labels, project, final=True)
    now = timezone.now()
    with transaction.atomic():
        row = close_submitted(assignment_id=assignment_id, annotator=annotator, now=now)
        if row is None:
            live_assignment(assignment_id=assignment_id, annotator=annotator, lock=False)  # raises the reason
            raise Conflict("assignment_closed", "This assignment changed; ask for the next clip.")
        clip_id = Clip._meta.pk.to_python(row[0])
        account_id = Account._meta.pk.to_python(row[1]) if row[1] is not None else None
        purpose, marked = row[2], row[3]
        if purpose in ANSWERING_PURPOSES:
            _second_opinion_answer(assignment_id=assignment_id, text=labels.text, now=now)
        elif purpose == Purpose.GOLD:
            _gold_score(assignment_id=assignment_id, annotator=annotator, clip_id=clip_id, text=labels.text, now=now)
        elif not marked:
            raise Gone("withdrawn", "This clip was withdrawn by its owner.")
        transcript = Transcript(assignment_id=assignment_id, clip_id=clip_id, annotator=annotator, text=labels.text,
                                intent=labels.intent, entities=list(labels.entities), flags=list(labels.flags),
                                created_at=now)
        if purpose == Purpose.TRANSCRIPTION:
            transcript.save()
            if _in_agreement_sample(clip_id, project):
                _agreement_sample(transcript, project=project)
        ledger_append(action=LedgerEntry.Action.TRANSCRIPT_SUBMIT, actor_id=annotator.pk, account_id=account_id,
                      clip_id=clip_id, assignment_id=assignment_id, detail={"purpose": purpose})
        promote_standby(annotator, now)
        return transcript


def assignment_skip(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser) -> Assignment:
    """Give the clip back to the queue for someone else; this annotator will not get it again."""
    with transaction.atomic():
        assignment = live_assignment(assignment_id=assignment_id, annotator=annotator, lock=True)
        now = timezone.now()
        close_and_requeue([assignment.pk], AssignmentState.SKIPPED, now)
        promote_standby(annotator, now)
        # The annotator worked just now: the current stretch without a break goes on.
        Shift.objects.filter(pk=assignment.shift_id).update(last_active_at=now)
    assignment.refresh_from_db()
    return assignment


def second_opinion_ask(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser, start_seconds: float,
                       end_seconds: float, text: str) -> SecondOpinion:
    """Ask another annotator, blind, what is said between two times of the clip in front of you;
    `text` is your own reading, which they never see."""
    text = bounded_text(text, field="text", limit=500, required=True, what="your reading of that part")
    with transaction.atomic():
        assignment = live_assignment(assignment_id=assignment_id, annotator=annotator, lock=True)
        if assignment.purpose != Purpose.TRANSCRIPTION:
            raise Conflict("not_askable", "Only a clip you are transcribing can go to a second opinion.")
        duration = Clip.objects.values_list("duration_seconds", flat=True).get(pk=assignment.clip_id) or 0.0
        if not (0 <= start_seconds < end_seconds <= duration + 0.05):
            raise ApplicationError("invalid_range",
                                   f"Choose a stretch between 0 and {duration:.1f} s, start before end.",
                                   fields={"start_seconds": ["Out of range."], "end_seconds": ["Out of range."]})
        if end_seconds - start_seconds > MAX_OPINION_SECONDS:
            raise ApplicationError("range_too_long", f"Ask about at most {MAX_OPINION_SECONDS:g} s at a time.",
                                   fields={"end_seconds": ["Too far from the start."]})
        asked = SecondOpinion.objects.filter(asking_assignment=assignment).count()
        if asked >= MAX_OPEN_OPINIONS_PER_ASSIGNMENT:
            raise Conflict("too_many_opinions", f"At most {MAX_OPEN_OPINIONS_PER_ASSIGNMENT} second opinions "
                           "per clip.")
        return SecondOpinion.objects.create(
            clip_id=assignment.clip_id, asked_by=annotator, asking_assignment=assignment,
            start_seconds=round(start_seconds, 2), end_seconds=round(end_seconds, 2), first_text=text)


def _second_opinion_answer(*, assignment_id: uuid.UUID, text: str, now: datetime) -> SecondOpinion:
    """The other annotator's reading: close agreement settles it, otherwise a supervisor decides."""
    opinion = SecondOpinion.objects.select_for_update().get(answer_assignment_id=assignment_id)
    if opinion.state != SecondOpinionState.ANSWERING:
        raise Conflict("opinion_closed", "This second opinion is no longer needed.")
    opinion.answer_text = text
    opinion.difference = word_error_rate(opinion.first_text, text)
    limit = settings.SECOND_OPINION_MAX_DIFFERENCE
    if opinion.kind == OpinionKind.AGREEMENT:
        limit = Project.objects.values_list("agreement_max_difference", flat=True).get(clips__id=opinion.clip_id)
    if opinion.difference <= limit:
        opinion.state, opinion.closed_at = SecondOpinionState.AGREED, now
    else:
        opinion.state = SecondOpinionState.ADJUDICATION
    opinion.save(update_fields=["answer_text", "difference", "state", "closed_at"])
    return opinion


def _gold_score(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser, clip_id: uuid.UUID, text: str,
                now: datetime) -> GoldResult | None:
    """Score a transcript of a gold clip against its reference; the text itself is not kept."""
    gold = GoldClip.objects.filter(clip_id=clip_id).first()
    if gold is None:
        return None
    return GoldResult.objects.create(assignment_id=assignment_id, gold=gold, annotator=annotator,
                                     project_id=gold.project_id, created_at=now,
                                     word_error_rate=word_error_rate(gold.reference_text, text))


def _in_agreement_sample(clip_id: uuid.UUID, project: Project) -> bool:
    """Deterministic per clip, so a clip put back in the queue and labeled again is drawn the same."""
    draw = int.from_bytes(hashlib.sha256(f"agreement:{clip_id}".encode()).digest()[:8], "big") / 2**64
    return draw < project.agreement_share


def _agreement_sample(transcript: Transcript, *, project: Project) -> SecondOpinion | None:
    """The clip goes to a second annotator for the whole of it, neither told; their word error rate
    against each other is the project's agreement, and beyond agreement_max_difference a
    supervisor adjudicates."""
    if not transcript.text:
        return None
    duration = Clip.objects.values_list("duration_seconds", flat=True).get(pk=transcript.clip_id) or 0.0
    return SecondOpinion.objects.create(
        kind=OpinionKind.AGREEMENT, clip_id=transcript.clip_id, asked_by=transcript.annotator,
        asking_assignment_id=transcript.assignment_id, start_seconds=0.0, end_seconds=max(round(duration, 2), 0.01),
        first_text=transcript.text)
