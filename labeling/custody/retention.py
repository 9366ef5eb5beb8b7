"""Retention: what the schedule keeps no longer goes, in short batches, each purge a ledger entry."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from consent.models import LedgerEntry
from consent.services import ledger_append_many
from labeling import vault
from labeling.custody.services import clips_shred
from labeling.exports.services import exports_expire
from labeling.models import (
    ESCALATION_UNRESOLVED,
    Assignment,
    AssignmentState,
    Clip,
    ClipStatus,
    Escalation,
    ExportJob,
    LegalHold,
    Transcript,
)
from labeling.review.services import opinions_cancel

# A deleted clip's state reason; the owner reads it as "kept no longer than our retention period".
RETENTION_REASON = "retention"


def retention_run(*, batch: int = 200, seconds: float | None = None) -> dict[str, int]:
    """What the retention schedule keeps no longer, each clip's purge a ledger entry:
    - details: held and discarded clips lose their details (device, time, score, locale) at once;
      the state and its reason stay, so the owner and the supervisors still see why;
    - audio: de-identified audio goes RETENTION_AUDIO_DAYS after labeling (and after an escalation
      was resolved without returning the clip to review);
    - transcripts: RETENTION_TRANSCRIPT_DAYS after labeling the transcripts go, and with them the
      clip (shredded, a tombstone stays);
    - queued: a clip nobody labeled, RETENTION_QUEUED_DAYS after it entered the queue, leaves it and
      is shredded. A clip lent out at that moment (assigned, or with any open assignment) is left
      until the assignment closes: labeled, it follows the rules above; back in the queue, the next
      run takes it.
    A clip under a legal hold is left alone. Raw audio never reaches this: the pipeline destroys it
    as soon as the de-identified version is stored (or the clip is held or discarded).

    The work goes in batches of `batch` clips, each in a transaction of its own that locks its rows
    with SKIP LOCKED (a claim or another run holding a row is not waited for), one batch of each pass
    in turn, until nothing is due or `seconds` (RETENTION_RUN_SECONDS) have passed; the batch in
    hand is finished first. Stopped anywhere (out of time, a worker killed), every clip is either
    purged with its ledger entry or untouched, and the next run goes on from there.
    Returns how many clips each pass purged, and `finished`: 1 when nothing due was left, else 0."""
    deadline = time.monotonic() + (settings.RETENTION_RUN_SECONDS if seconds is None else seconds)
    done = dict.fromkeys(PURGES, 0)
    pending = list(PURGES)
    out_of_time = False
    while pending and not out_of_time:
        for what in list(pending):
            purged = PURGES[what](batch=batch, now=timezone.now())
            done[what] += purged
            if purged < batch:
                pending.remove(what)
            out_of_time = time.monotonic() >= deadline
            if out_of_time:
                break
    return {**done, "finished": int(not pending)}


def _held(now: datetime):
    return LegalHold.objects.in_force(now).values("clip_id")


def _ledger(rows: list[tuple[uuid.UUID, uuid.UUID]], what: str) -> None:
    """One entry per clip purged ((clip id, account id) rows), written together; last in the batch."""
    ledger_append_many(action=LedgerEntry.Action.DELETION, entries=[
        {"account_id": account_id, "clip_id": clip_id, "detail": {"by": "retention", "what": what}}
        for clip_id, account_id in rows])


def _details(*, batch: int, now: datetime) -> int:
    with transaction.atomic():
        rows = list(Clip.objects.select_for_update(skip_locked=True)
                    .filter(status__in=[ClipStatus.HELD, ClipStatus.DISCARDED]).exclude(device_serial="")
                    .exclude(pk__in=_held(now)).values_list("id", "account_id")[:batch])
        if rows:
            Clip.objects.filter(pk__in=[clip_id for clip_id, _ in rows]).update(
                device_serial="", recorded_at=None, wake_word_score=None, locale="", last_error="", updated_at=now)
            _ledger(rows, "details")
    return len(rows)


def _audio(*, batch: int, now: datetime) -> int:
    due = now - timedelta(days=settings.RETENTION_AUDIO_DAYS)
    open_escalations = Escalation.objects.filter(state__in=ESCALATION_UNRESOLVED).values("clip_id")
    recent_outcomes = Escalation.objects.filter(resolved_at__gt=due).values("clip_id")
    with transaction.atomic():
        rows = list(Clip.objects.select_for_update(skip_locked=True)
                    .filter(Q(status=ClipStatus.LABELED) | Q(status=ClipStatus.ESCALATED),
                            wrapped_key__isnull=False, updated_at__lte=due)
                    .exclude(pk__in=_held(now)).exclude(pk__in=open_escalations).exclude(pk__in=recent_outcomes)
                    .values_list("id", "account_id", "deid_path", "raw_path")[:batch])
        if rows:
            ids = [row[0] for row in rows]
            paths = [p for *_, deid, raw in rows for p in (deid, raw) if p]
            Clip.objects.filter(pk__in=ids).update(
                wrapped_key=None, deid_path="", raw_path="", envelope=None, updated_at=now)
            vault.delete_blobs_on_commit(*paths)
            opinions_cancel(clip_id__in=ids, now=now)  # nobody can hear them any more
            # An export still on the server holds a copy of the audio: it goes with it.
            exports_expire(ExportJob.objects.filter(items__clip_id__in=ids).distinct(),
                           reason="The audio of a clip in it reached the end of its retention; request a new export.")
            _ledger([row[:2] for row in rows], "audio")
    return len(rows)


def _transcripts(*, batch: int, now: datetime) -> int:
    due = now - timedelta(days=settings.RETENTION_TRANSCRIPT_DAYS)
    expired = Transcript.objects.filter(created_at__lte=due).values("clip_id")
    with transaction.atomic():
        rows = list(Clip.objects.select_for_update(skip_locked=True).filter(pk__in=expired)
                    .exclude(status=ClipStatus.DELETED).exclude(pk__in=_held(now))
                    .values_list("id", "account_id")[:batch])
        if rows:
            clips_shred([clip_id for clip_id, _ in rows], reason=RETENTION_REASON, now=now)
            _ledger(rows, "transcripts")
    return len(rows)


def _queued(*, batch: int, now: datetime) -> int:
    due = now - timedelta(days=settings.RETENTION_QUEUED_DAYS)
    lent = Assignment.objects.filter(state=AssignmentState.OPEN).values("clip_id")
    with transaction.atomic():
        # The claim locks the clip row it lends (SKIP LOCKED too) and marks it assigned in the same
        # transaction: a clip being lent is skipped here, a clip locked here is not lent.
        rows = list(Clip.objects.select_for_update(skip_locked=True)
                    .filter(status=ClipStatus.QUEUED, queued_at__lte=due)
                    .exclude(pk__in=_held(now)).exclude(pk__in=lent).values_list("id", "account_id")[:batch])
        if rows:
            clips_shred([clip_id for clip_id, _ in rows], reason=RETENTION_REASON, now=now)
            _ledger(rows, "queued")
    return len(rows)


# The passes in the order each round of a run takes them.
PURGES: dict[str, Callable[..., int]] = {
    "details": _details, "audio": _audio, "transcripts": _transcripts, "queued": _queued}
