"""The audio and the waveform envelope of an assignment, to its assignee only, under the servability
rule, each served copy watermarked and written in the ledger; the play starts its page reports."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Q
from django.utils import timezone

from consent.models import LedgerEntry
from consent.services import ledger_append
from core.errors import ApplicationError, Conflict, Gone, Refused, TooMany
from labeling import vault
from labeling.models import (
    Assignment,
    AssignmentState,
    Clip,
    Shift,
)
from labeling.review.services import live_assignment
from labeling.servability import SERVABILITY_FIELDS, refuse_unless_servable
from redaction import watermark, waveform
from redaction.audio import encode_wav


def assignment_audio_token(*, assignment_id: uuid.UUID) -> str:
    """The token the assignee's page presents to fetch the audio: keyed to this assignment, never
    stored, never part of a URL."""
    return hmac.new(settings.SECRET_KEY.encode(), f"audio:{assignment_id}".encode(), hashlib.sha256).hexdigest()


def assignment_audio(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser, token: str) -> bytes:
    """The de-identified audio, only to its assignee presenting the assignment's token, while the
    lease lives, consent holds right now and the assignment's audio was sent fewer than
    AUDIO_MAX_PLAYS times (each call counts as one sending, whether the page plays it or not)."""
    _check_audio_token(assignment_id, token)
    now = timezone.now()
    sent = Assignment.objects.filter(
        pk=assignment_id, annotator=annotator, state=AssignmentState.OPEN, lease_expires_at__gt=now,
        audio_sent__lt=settings.AUDIO_MAX_PLAYS,
    ).update(audio_sent=F("audio_sent") + 1)
    assignment = live_assignment(assignment_id=assignment_id, annotator=annotator, lock=False, working=False,
                                 clip_fields=SERVED_CLIP_FIELDS)
    if not sent:
        raise Refused(  # the code predates the honest name: it stays, for callers that know it
            "plays_used_up", f"This clip's audio was sent {settings.AUDIO_MAX_PLAYS} times, the most allowed: "
            "submit what you heard or skip it.")
    clip, audio = _servable_audio(assignment)
    # Every served copy carries its assignment in an inaudible mark (redaction.watermark).
    audio = encode_wav(watermark.embed(audio, vault.watermark_key(clip.id), vault.watermark_payload(assignment.id)))
    if clip.flag_category and assignment.audio_sent == 1 and assignment.shift_id is not None:
        # Sent once, counted once against the shift's budget of flagged content.
        Shift.objects.filter(pk=assignment.shift_id).update(
            exposure_seconds=F("exposure_seconds") + (clip.duration_seconds or 0.0))
    ledger_append(action=LedgerEntry.Action.AUDIO_STREAM, actor_id=annotator.pk, account_id=clip.account_id,
                  clip_id=clip.id, assignment_id=assignment.id, detail={"purpose": assignment.purpose})
    return audio


def assignment_peaks(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser, token: str,
                     bins: int) -> tuple[np.ndarray, float]:
    """The waveform envelope of the assignment's de-identified audio for the editor to draw, under
    the same conditions as the audio itself (token, assignee, lease, servability now), at drawing
    resolution only (redaction.waveform.MIN_SAMPLES_PER_BIN: it cannot be rebuilt into words, so it
    is not counted as audio sent); each read is a ledger entry with the assignment. Read from the
    envelope stored at de-identification; a clip de-identified before envelopes were stored has its
    audio read instead. Returns (peaks, seconds)."""
    _check_audio_token(assignment_id, token)
    if not 1 <= bins <= waveform.MAX_BINS:
        raise ApplicationError("invalid_bins", f"Ask for 1 to {waveform.MAX_BINS} bins.",
                               fields={"bins": ["Out of range."]})
    assignment = live_assignment(assignment_id=assignment_id, annotator=annotator, lock=False, working=False,
                                 clip_fields=(*SERVED_CLIP_FIELDS, "envelope"))
    clip = _servable_clip(assignment)
    try:
        if clip.envelope is not None:
            fine = vault.open_envelope(clip.id, vault.unwrap_data_key(clip.id, clip.wrapped_key), clip.envelope)
            seconds = clip.duration_seconds or 0.0
        else:
            samples = vault.deid_samples(clip)
            fine, seconds = waveform.drawing_envelope(samples), len(samples) / 16_000
    except (vault.VaultError, FileNotFoundError):
        raise Gone("withdrawn", "This clip's audio no longer exists.") from None
    envelope = waveform.coarser(fine, bins)
    ledger_append(action=LedgerEntry.Action.ENVELOPE_READ, actor_id=annotator.pk, account_id=clip.account_id,
                  clip_id=clip.id, assignment_id=assignment.id,
                  detail={"purpose": assignment.purpose, "bins": len(envelope)})
    return envelope, seconds


# A play start is the page's word that it started the sound from silence (a jump or a change of
# speed while playing is none). Being a report, it is bounded: none before the audio was sent, at
# most PLAY_STARTS_PER_AUDIO_SENT for each copy sent, at most one each PLAY_START_MIN_SECONDS, only
# while the clip may reach its assignee. Within those bounds a script could still move it, so the
# owner is told it is what the page reported, and it can carry no more than such a bounded number.
PLAY_STARTS_PER_AUDIO_SENT = 50
PLAY_START_MIN_SECONDS = 1


def assignment_play_start(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser, token: str) -> None:
    """Count one play start reported by the assignee's page (with the assignment's token, while
    the lease lives and the servability rule lets the clip reach them now), within the bounds above;
    a start beyond them is refused and not counted."""
    _check_audio_token(assignment_id, token)
    assignment = live_assignment(assignment_id=assignment_id, annotator=annotator, lock=False)
    clip = Clip.objects.only(*SERVABILITY_FIELDS).get(pk=assignment.clip_id)
    now = timezone.now()
    refuse_unless_servable(clip, assignment.purpose, now)
    counted = Assignment.objects.filter(
        Q(last_play_start_at__isnull=True) | Q(last_play_start_at__lte=now - timedelta(seconds=PLAY_START_MIN_SECONDS)),
        pk=assignment_id, annotator=annotator, state=AssignmentState.OPEN, standby=False, lease_expires_at__gt=now,
        audio_sent__gt=0, play_starts__lt=F("audio_sent") * PLAY_STARTS_PER_AUDIO_SENT,
    ).update(play_starts=F("play_starts") + 1, last_play_start_at=now)
    if counted:
        return
    assignment = live_assignment(assignment_id=assignment_id, annotator=annotator, lock=False)  # changed since?
    if assignment.audio_sent == 0:
        raise Conflict("audio_not_sent", "This clip's audio was not sent yet, so it cannot have started playing.")
    if assignment.play_starts >= assignment.audio_sent * PLAY_STARTS_PER_AUDIO_SENT:
        raise Conflict("play_starts_used_up", f"At most {PLAY_STARTS_PER_AUDIO_SENT} play starts are counted "
                       "for each time the audio was sent.")
    raise TooMany("play_start_too_soon", f"At most one play start is counted every {PLAY_START_MIN_SECONDS} s.",
                  retry_after=PLAY_START_MIN_SECONDS)


def _check_audio_token(assignment_id: uuid.UUID, token: str) -> None:
    if not hmac.compare_digest(token or "", assignment_audio_token(assignment_id=assignment_id)):
        raise Refused("bad_audio_token", "This audio is served only to the page that claimed the clip.")


# What serving a clip's sound reads of it, with its assignment (live_assignment's clip_fields).
SERVED_CLIP_FIELDS = (*SERVABILITY_FIELDS, "deid_path", "duration_seconds")


def _servable_clip(assignment: Assignment) -> Clip:
    """The clip of a live assignment read with SERVED_CLIP_FIELDS, if the servability rule lets this
    kind of assignment hear it right now (holds and consent as the same statement read them);
    otherwise the 410 that says why."""
    refuse_unless_servable(assignment.clip, assignment.purpose, timezone.now(), read=assignment.clip_rule)
    return assignment.clip


def _servable_audio(assignment: Assignment) -> tuple[Clip, np.ndarray]:
    """The clip of a live assignment and its de-identified samples, if the servability rule lets this
    kind of assignment hear it right now; otherwise the 410 that says why."""
    clip = _servable_clip(assignment)
    try:
        return clip, vault.deid_samples(clip)
    except (vault.VaultError, FileNotFoundError):
        raise Gone("withdrawn", "This clip's audio no longer exists.") from None
