"""Reads for the data subject: their clips, in words they understand, and who heard them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import OuterRef, Subquery

from labeling.models import (
    Assignment,
    Clip,
    LegalHold,
)

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
    """One person's time with one of the owner's clips, in what the server can count: how often it
    sent them the audio, and how often their page reported starting to play it. Whether anyone
    listened is not something the server can know."""

    clip: uuid.UUID
    reviewer: str  # a stable pseudonym, never a name
    purpose: str
    given_at: datetime
    audio_sent: int  # times the audio was sent to the reviewer's page (it may fetch ahead and never play)
    audio_sent_seconds: float | None  # audio_sent x the clip's length, while the length is known
    play_starts_reported: int  # play starts the reviewer's page reported (bounded, see review.audio)
    held_seconds: float | None  # from being given the clip to handing it back
    legal_hold_ends_at: datetime | None


def hearings_of_account(*, account_id: uuid.UUID, now: datetime, limit: int = 1000) -> list[Hearing]:
    """Every time a reviewer or supervisor was given one of the account's clips, newest first."""
    from consent.selectors import reviewer_pseudonym  # consent's reads; labeling sits above consent

    holds = LegalHold.objects.in_force(now).filter(clip_id=OuterRef("clip_id")).order_by("-expires_at")
    rows = (Assignment.objects.filter(clip__account_id=account_id)
            .annotate(hold_ends_at=Subquery(holds.values("expires_at")[:1]))
            .select_related("clip").only("clip_id", "annotator_id", "purpose", "created_at", "closed_at",
                                         "audio_sent", "play_starts", "clip__duration_seconds")
            .order_by("-created_at")[:limit])
    hearings = []
    for row in rows:
        length = row.clip.duration_seconds
        hearings.append(Hearing(
            row.clip_id, reviewer_pseudonym(row.annotator_id), row.purpose, row.created_at, row.audio_sent,
            round(row.audio_sent * length, 1) if length is not None else None, row.play_starts,
            round((row.closed_at - row.created_at).total_seconds()) if row.closed_at else None,
            row.hold_ends_at))
    return hearings
