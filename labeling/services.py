"""Writes of clips and review work: ingest, the de-identification pipeline, claims, submissions."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from consent.models import Account, DeletionReceipt, LedgerEntry
from consent.selectors import account_by_external_id, consent_is_active
from consent.services import ledger_append, receipt_signature
from core.enqueue import enqueue_after_commit
from core.errors import ApplicationError, Conflict, Gone, NotFound, Refused, TooLarge, Unavailable
from labeling import servability, vault
from labeling.exports.services import exports_expire
from labeling.models import (
    ANSWERING_PURPOSES,
    ESCALATION_UNRESOLVED,
    FLAG_SEVERITY,
    LIVE_STATES,
    MAX_ENTITIES,
    MAX_NOTE_CHARS,
    MAX_OPEN_OPINIONS_PER_ASSIGNMENT,
    MAX_OPINION_SECONDS,
    MAX_REASON_CHARS,
    MAX_TRANSCRIPT_CHARS,
    OPINION_WAITING,
    QUOTA_FREE_STATES,
    STORAGE_HOLD,
    SUPERVISOR_PURPOSES,
    Assignment,
    AssignmentState,
    CategoryOptOut,
    Clip,
    ClipStatus,
    Escalation,
    EscalationOutcome,
    EscalationState,
    ExportJob,
    FlagCategory,
    GoldClip,
    GoldResult,
    IngestKey,
    LegalHold,
    OpinionKind,
    Project,
    ProjectMember,
    ProjectRole,
    Purpose,
    SecondOpinion,
    SecondOpinionState,
    Shift,
    Transcript,
    TranscriptFlag,
    recognizes_language,
)
from labeling.selectors import (
    assignment_for_annotator,
    project_ids_of,
    shift_current,
    shift_for_claim,
    shifts_in_last_day,
    supervised_project,
    work_rules_for,
)
from labeling.servability import SERVABILITY_FIELDS, lendable_sql
from labeling.work_rules import ShiftActivity, claim_refusal, shift_start_refusal, stretch_start, worked
from redaction import watermark, waveform
from redaction.audio import AudioError, decode, encode_wav, probe, to_target_rate
from redaction.pipeline import DeidFailed, DeidParams, deidentify
from redaction.voice import draw_disguise
from redaction.wer import word_error_rate

logger = logging.getLogger(__name__)

# A leak is read against the clips whose loudness contour it matches this well (0..1), best first;
# an assignment is named by redaction.watermark.identify.
TRACE_MIN_LIKENESS = 0.5
TRACE_CANDIDATES = 3


# ---------------------------------------------------------------- ingest keys


def ingest_key_create(*, name: str) -> tuple[IngestKey, str]:
    """A new device API key; the returned secret is shown once and never stored."""
    prefix = secrets.token_hex(4)
    raw = f"vr_{prefix}_{secrets.token_urlsafe(32)}"
    key = IngestKey.objects.create(name=name, prefix=prefix, key_hash=hashlib.sha256(raw.encode()).hexdigest())
    return key, raw


# ---------------------------------------------------------------- projects


def project_member_add(*, user: AbstractBaseUser, role: str, project: Project | None = None) -> ProjectMember:
    """Make the user an annotator or supervisor of the project (the default project if none)."""
    if role not in ProjectRole.values:
        raise ApplicationError("unknown_role", f"A project member is one of {', '.join(ProjectRole.values)}.")
    project = project or Project.objects.get(slug=settings.DEFAULT_PROJECT)
    member, _ = ProjectMember.objects.get_or_create(project=project, user=user, role=role)
    return member


# ---------------------------------------------------------------- ingest


@dataclass(frozen=True)
class ClipMetadata:
    account: str
    device_serial: str
    first_name: str
    recorded_at: datetime
    wake_word_score: float
    locale: str
    project: str = ""  # a project's slug; empty: settings.DEFAULT_PROJECT


@dataclass(frozen=True)
class IngestOutcome:
    clip_id: uuid.UUID | None
    status: str  # "received" or "not_retained"
    reason: str = ""


def _in_review_sample(metadata: ClipMetadata) -> bool:
    """Deterministic per clip: the same recording sent twice gets the same answer."""
    if settings.REVIEW_SAMPLE_RATE >= 1.0:
        return True
    identity = f"{metadata.account}|{metadata.device_serial}|{metadata.recorded_at.isoformat()}"
    draw = int.from_bytes(hashlib.sha256(identity.encode()).digest()[:8], "big") / 2**64
    return draw < settings.REVIEW_SAMPLE_RATE


def clip_ingest(*, audio: bytes, metadata: ClipMetadata, draft: str = "") -> IngestOutcome:
    """Validate the audio header, apply the consent gate, store encrypted, enqueue the pipeline.

    Audio of a clip that is not retained is never written anywhere. `draft`: a transcription that
    came with the clip (an imported prediction), already masked (redaction.pii.mask_text); the
    annotator is shown it instead of the recognizer's.
    """
    try:
        info = probe(audio, max_seconds=settings.MAX_CLIP_SECONDS)
    except AudioError as exc:
        kind = TooLarge if exc.code == "audio_too_long" else ApplicationError
        raise kind(exc.code, exc.message, fields={"audio": [exc.message]}) from None

    project = _project_for_ingest(metadata)
    account = account_by_external_id(external_id=metadata.account)
    if account is None:
        return IngestOutcome(None, "not_retained", "no_review_consent")
    reason = ""
    if not consent_is_active(account_id=account.id):
        reason = "no_review_consent"
    elif metadata.wake_word_score < settings.ACCIDENTAL_WAKE_THRESHOLD:
        reason = "accidental"
    elif not _in_review_sample(metadata):
        reason = "not_sampled"
    common = dict(
        account=account,
        project=project,
        device_serial=metadata.device_serial,
        recorded_at=metadata.recorded_at,
        wake_word_score=metadata.wake_word_score,
        locale=metadata.locale,
        audio_format=info.format,
    )
    if reason:
        # The row lets the owner see that a recording arrived and why nobody will hear it.
        clip = Clip.objects.create(status=ClipStatus.DISCARDED, status_reason=reason, **common)
        return IngestOutcome(clip.id, "not_retained", reason)

    clip_id = uuid.uuid4()
    key, wrapped = vault.new_data_key(clip_id)
    try:
        path = vault.store_audio(clip_id, key, "raw", audio)
    except OSError as exc:
        vault.delete_audio_quietly(vault.blob_path(clip_id, "raw"))
        logger.error("ingest storage write failed", extra={"event": "storage_unavailable", "error": exc.strerror})
        raise Unavailable("storage_unavailable", "The recording could not be stored right now and was not "
                          "kept; send it again later.", retry_after=60) from None
    try:
        with transaction.atomic():
            if not consent_is_active(account_id=account.id):  # revoked while we were writing
                raise _ConsentGone
            if metadata.first_name and not account.first_name:
                account.first_name = metadata.first_name
                account.save(update_fields=["first_name"])
            clip = Clip.objects.create(id=clip_id, wrapped_key=wrapped, raw_path=path, draft_transcript=draft,
                                       **common)
            _enqueue_processing(clip.id)
    except _ConsentGone:
        vault.delete_audio(path)
        return IngestOutcome(None, "not_retained", "no_review_consent")
    except BaseException:
        vault.delete_audio(path)
        raise
    logger.info("clip received", extra={"event": "clip_received", "clip": str(clip.id), "format": info.format,
                                        "seconds": round(info.duration, 2)})
    return IngestOutcome(clip.id, ClipStatus.RECEIVED)


def _project_for_ingest(metadata: ClipMetadata) -> Project:
    """The project the metadata names, if it exists, speaks the clip's language and has room."""
    slug = metadata.project or settings.DEFAULT_PROJECT
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise ApplicationError("unknown_project", f"There is no project '{slug}'.",
                               fields={"metadata": {"project": ["Unknown project."]}})
    if not recognizes_language(project.locale):  # made outside the admin, which refuses such projects
        raise Conflict("unsupported_language", f"Project '{slug}' is in '{project.locale}', which no configured "
                       "speech recognizer reads; its clips could not be de-identified.")
    if metadata.locale.split("-")[0].lower() != project.locale.split("-")[0].lower():
        raise ApplicationError("wrong_language", f"Project '{slug}' reviews clips in '{project.locale}', not "
                               f"'{metadata.locale}'.",
                               fields={"metadata": {"locale": ["Not the project's language."]}})
    if project.clip_quota is not None:
        taken = Clip.objects.filter(project=project).exclude(status__in=QUOTA_FREE_STATES).count()
        if taken >= project.clip_quota:
            raise Conflict("project_full", f"Project '{slug}' has all the {project.clip_quota} clips it takes; "
                           "keep the recording and send it to another project.")
    return project


class _ConsentGone(Exception):
    pass


def _enqueue_processing(clip_id: uuid.UUID) -> None:
    """After commit, put the clip's pipeline task on the broker; if the broker does not answer, the
    clip stays received and clips_reconcile enqueues it again."""
    enqueue_after_commit("workers.tasks.clip_process_task", str(clip_id))


# ---------------------------------------------------------------- pipeline


class TransientPipelineError(Exception):
    """Worth retrying: storage or database briefly unavailable."""


def clip_process(*, clip_id: uuid.UUID, task_id: str = "") -> str:
    """Run de-identification on one clip. Safe to call twice: only a claimable clip is worked on.

    A clip is claimable when received, when its processing went stale, or when `task_id` is the
    task that claimed it: the broker hands a task's message out again only after the worker
    running it died (acks late, rejected on worker loss), so that worker is gone and the clip is
    taken up at once instead of after PROCESSING_STALE_SECONDS.

    Returns the clip's status afterwards, or "skipped" when there was nothing to do.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.PROCESSING_STALE_SECONDS)
    claimable = Q(status=ClipStatus.RECEIVED) | Q(status=ClipStatus.PROCESSING, processing_started_at__lt=stale)
    if task_id:
        claimable |= Q(status=ClipStatus.PROCESSING, processing_task=task_id)
    claimed = Clip.objects.filter(claimable, pk=clip_id).update(
        status=ClipStatus.PROCESSING, processing_started_at=now, processing_task=task_id,
        attempts=F("attempts") + 1, updated_at=now)
    if not claimed:
        return "skipped"
    clip = Clip.objects.get(pk=clip_id)
    if clip.attempts > settings.PIPELINE_MAX_ATTEMPTS:
        return clip_hold(clip_id=clip.id, reason="pipeline_attempts_exhausted", error=clip.last_error)
    if not consent_is_active(account_id=clip.account_id):
        _withdraw_clips(Clip.objects.filter(pk=clip.id), reason="consent_revoked")
        return ClipStatus.WITHDRAWN

    try:
        key = vault.unwrap_data_key(clip.id, clip.wrapped_key)
        raw = vault.load_audio(clip.id, key, "raw", clip.raw_path)
    except vault.VaultError as exc:
        return clip_hold(clip_id=clip.id, reason="raw_audio_unreadable", error=str(exc))
    except OSError as exc:
        _release_for_retry(clip.id, str(exc))
        raise TransientPipelineError(f"storage read failed: {exc}") from exc

    try:
        result = deidentify(raw, deid_params(seed=vault.disguise_seed(clip.id)))
    except AudioError as exc:
        return clip_hold(clip_id=clip.id, reason=f"decode_failed: {exc.code}", error=exc.message)
    except DeidFailed as exc:  # recognition or detection could not vouch for the clip: fail closed
        return clip_hold(clip_id=clip.id, reason=exc.code, error=exc.message)
    except Exception as exc:  # a bug or a library crash: fail closed, never serve raw
        logger.exception("de-identification failed for a clip")
        return clip_hold(clip_id=clip.id, reason="deidentification_failed", error=repr(exc))

    if not result.has_speech:
        with transaction.atomic():
            done = Clip.objects.filter(pk=clip.id, status=ClipStatus.PROCESSING).update(
                status=ClipStatus.DISCARDED,
                status_reason="no_speech",
                input_seconds=result.input_seconds,
                raw_path="",
                wrapped_key=None,
                updated_at=timezone.now(),
            )
        vault.delete_audio(clip.raw_path)
        return ClipStatus.DISCARDED if done else "skipped"

    try:
        deid_path = vault.store_audio(clip.id, key, "deid", encode_wav(result.audio))
    except OSError as exc:
        vault.delete_audio_quietly(vault.blob_path(clip.id, "deid"))  # a partly written file
        if exc.errno in vault.STORAGE_UNAVAILABLE_ERRNOS:
            return _hold_for_storage(clip.id, exc)
        _release_for_retry(clip.id, str(exc))
        raise TransientPipelineError(f"storage write failed: {exc}") from exc
    with transaction.atomic():
        now = timezone.now()
        done = Clip.objects.filter(pk=clip.id, status=ClipStatus.PROCESSING).update(
            status=ClipStatus.QUEUED,
            status_reason="",
            deid_path=deid_path,
            raw_path="",
            input_seconds=result.input_seconds,
            duration_seconds=len(result.audio) / 16_000,
            trimmed_seconds=result.trimmed_seconds,
            draft_transcript=clip.draft_transcript or result.draft,  # an imported draft wins
            masked_spans=[{"kind": s.kind, "start": s.start, "end": s.end} for s in result.spans],
            queued_at=now,
            updated_at=now,
        )
    # Raw audio never outlives its de-identified version.
    vault.delete_audio(clip.raw_path)
    if not done:  # withdrawn or deleted while we worked: keep nothing
        vault.delete_audio(deid_path)
        return "skipped"
    logger.info("clip de-identified", extra={"event": "clip_queued", "clip": str(clip.id),
                                             "masked_spans": len(result.spans), "attempt": clip.attempts})
    return ClipStatus.QUEUED


def deid_params(*, seed: int) -> DeidParams:
    """The de-identification settings, with the clip's own disguise coefficient."""
    return DeidParams(
        voice=draw_disguise(seed),
        max_seconds=settings.MAX_CLIP_SECONDS,
        vad_aggressiveness=settings.VAD_AGGRESSIVENESS,
        padding_ms=settings.VAD_PADDING_MS,
        mask_padding=settings.MASK_PADDING_MS / 1000,
        mask_mode=settings.MASK_MODE,
        asr_model=settings.ASR_MODEL or None,
        asr_budget=settings.ASR_TIME_BUDGET_SECONDS,
        asr_threads=settings.ASR_THREADS,
    )


def _release_for_retry(clip_id: uuid.UUID, error: str) -> None:
    Clip.objects.filter(pk=clip_id, status=ClipStatus.PROCESSING).update(
        status=ClipStatus.RECEIVED, last_error=error[:2000], updated_at=timezone.now()
    )


def clip_hold(*, clip_id: uuid.UUID, reason: str, error: str = "") -> str:
    """Fail closed: the clip is kept from every reviewer, with its reason; its raw audio is destroyed."""
    clip = Clip.objects.filter(pk=clip_id).first()
    if clip is None:
        return "skipped"
    with transaction.atomic():
        held = Clip.objects.filter(pk=clip_id, status__in=[ClipStatus.RECEIVED, ClipStatus.PROCESSING]).update(
            status=ClipStatus.HELD,
            status_reason=reason[:200],
            last_error=error[:2000],
            raw_path="",
            wrapped_key=None,
            updated_at=timezone.now(),
        )
    if held:
        vault.delete_audio(clip.raw_path)
        logger.warning("clip held", extra={"event": "clip_held", "clip": str(clip_id), "reason": reason[:200]})
    return ClipStatus.HELD if held else "skipped"


def _hold_for_storage(clip_id: uuid.UUID, exc: OSError) -> str:
    """Storage is full or refuses writes: the clip is held, and unlike any other hold keeps its
    encrypted original (never served) so it is de-identified once storage takes writes again."""
    held = Clip.objects.filter(pk=clip_id, status=ClipStatus.PROCESSING).update(
        status=ClipStatus.HELD, status_reason=f"{STORAGE_HOLD}: {exc.strerror or exc}"[:200],
        last_error=str(exc)[:2000], processing_task="", updated_at=timezone.now())
    if held:
        logger.warning("clip held", extra={"event": "clip_held", "clip": str(clip_id), "reason": STORAGE_HOLD})
    return ClipStatus.HELD if held else "skipped"


def clips_release_storage_held() -> int:
    """Clips held because storage was full or read-only go back to the pipeline once it takes
    writes again. Returns how many."""
    waiting = Clip.objects.filter(status=ClipStatus.HELD, status_reason__startswith=STORAGE_HOLD,
                                  wrapped_key__isnull=False).exclude(raw_path="")
    if not waiting.exists() or vault.storage_problem():
        return 0
    released = []
    with transaction.atomic():
        for clip_id in waiting.select_for_update(skip_locked=True).values_list("id", flat=True)[:1000]:
            Clip.objects.filter(pk=clip_id).update(status=ClipStatus.RECEIVED, status_reason="", attempts=0,
                                                   updated_at=timezone.now())
            _enqueue_processing(clip_id)
            released.append(clip_id)
    return len(released)


def clips_reconcile() -> int:
    """Re-enqueue clips a lost message left in received or processing, and clips held only
    because storage could not be written once it can. Returns how many."""
    count = clips_release_storage_held()
    now = timezone.now()
    stuck = Clip.objects.filter(
        Q(status=ClipStatus.RECEIVED, updated_at__lt=now - timedelta(seconds=settings.RECEIVED_STALE_SECONDS))
        | Q(
            status=ClipStatus.PROCESSING,
            processing_started_at__lt=now - timedelta(seconds=settings.PROCESSING_STALE_SECONDS),
        )
    ).values_list("id", flat=True)[:1000]
    for clip_id in stuck:
        _enqueue_processing(clip_id)
        count += 1
    return count


# ---------------------------------------------------------------- withdrawal


def _opinions_cancel(*, now: datetime, **clips) -> None:
    """Second opinions still waiting on these clips (a filter on SecondOpinion's clip) are no longer needed."""
    SecondOpinion.objects.filter(state__in=OPINION_WAITING, **clips).update(
        state=SecondOpinionState.CANCELLED, closed_at=now)


def _withdraw_clips(clips, *, reason: str) -> list[uuid.UUID]:
    """Take clips out of review and destroy their audio and keys. Caller holds a transaction or not."""
    now = timezone.now()
    with transaction.atomic():
        # Clip rows first: a claim that locked one of them finishes before we see it, and we then
        # see its assignment below.
        # An escalated clip goes too, unless a legal hold freezes it (it is then never served, as
        # consent is checked at every stream, and is deleted when the hold expires).
        held = LegalHold.objects.in_force(now).values("clip_id")
        rows = list(clips.filter(Q(status__in=LIVE_STATES) | (Q(status=ClipStatus.ESCALATED) & ~Q(pk__in=held))
                                 | Q(status=ClipStatus.HELD, status_reason__startswith=STORAGE_HOLD))
                    .select_for_update().values_list("id", "raw_path", "deid_path"))
        ids = [row[0] for row in rows]
        if not ids:
            return []
        Clip.objects.filter(pk__in=ids).update(
            status=ClipStatus.WITHDRAWN,
            status_reason=reason,
            wrapped_key=None,
            raw_path="",
            deid_path="",
            queued_at=None,
            updated_at=now,
        )
        Assignment.objects.filter(clip_id__in=ids, state=AssignmentState.OPEN).update(
            state=AssignmentState.REVOKED, closed_at=now
        )
        _opinions_cancel(clip_id__in=ids, now=now)
        Escalation.objects.filter(clip_id__in=ids, state__in=ESCALATION_UNRESOLVED).update(
            state=EscalationState.WITHDRAWN)
        paths = [p for _, raw, deid in rows for p in (raw, deid) if p]
        transaction.on_commit(lambda: [vault.delete_audio(p) for p in paths])
    return ids


def clips_withdraw_for_account(*, account_id: uuid.UUID) -> int:
    """Consent was revoked: no clip of this account stays in review, and their audio is shredded.
    Questions about their clips that were already transcribed are cancelled too. With
    REVOCATION_DELETES (the default) every clip of the account is then deleted (clips_delete), its
    transcripts included, and a receipt is kept."""
    withdrawn = _withdraw_clips(Clip.objects.filter(account_id=account_id), reason="consent_revoked")
    if settings.REVOCATION_DELETES:
        clips_delete(account=Account.objects.get(pk=account_id), reason="consent_revoked", by="revocation")
    now = timezone.now()
    _opinions_cancel(clip__account_id=account_id, now=now)
    # Gold clips and second transcriptions of clips already labeled: nobody hears them any more.
    Assignment.objects.filter(account_id=account_id, state=AssignmentState.OPEN).update(
        state=AssignmentState.REVOKED, closed_at=now)
    GoldClip.objects.filter(clip__account_id=account_id).delete()
    return len(withdrawn)


# ---------------------------------------------------------------- shifts


def shift_start(*, annotator: AbstractBaseUser) -> Shift:
    """Start a shift, or return the one already open; refused while the annotator must rest."""
    with transaction.atomic():
        current = shift_current(annotator=annotator)
        if current is not None:
            return current
        now = timezone.now()
        earlier = shifts_in_last_day(annotator=annotator, now=now)
        refusal = shift_start_refusal(work_rules_for(annotator=annotator), earlier, now)
        if refusal is not None:
            raise refusal
        return Shift.objects.create(annotator=annotator, started_at=now,
                                    earlier_worked_seconds=int(worked(earlier, at=now, now=now).total_seconds()))


def shift_end(*, annotator: AbstractBaseUser) -> Shift:
    """End the open shift; an unfinished clip goes back to the queue."""
    with transaction.atomic():
        shift = shift_current(annotator=annotator)
        if shift is None:
            raise Conflict("no_open_shift", "There is no open shift to end.")
        now = timezone.now()
        open_ids = list(
            Assignment.objects.select_for_update()
            .filter(shift=shift, state=AssignmentState.OPEN)
            .values_list("id", flat=True)
        )
        _close_and_requeue(open_ids, AssignmentState.RELEASED, now)
        shift.ended_at = now
        shift.save(update_fields=["ended_at"])
    return shift


# ---------------------------------------------------------------- assignments


def _close_and_requeue(assignment_ids: list[uuid.UUID], state: str, now: datetime) -> int:
    """Close open assignments and put their clips back in the queue, keeping their place."""
    if not assignment_ids:
        return 0
    rows = list(Assignment.objects.filter(pk__in=assignment_ids, state=AssignmentState.OPEN)
                .values_list("id", "clip_id", "purpose"))
    closed = Assignment.objects.filter(pk__in=assignment_ids, state=AssignmentState.OPEN).update(
        state=state, closed_at=now, draft=None
    )
    # Only a transcription holds the clip in the queue's sense; a second opinion waits for another answer.
    transcribed = [clip for _, clip, purpose in rows if purpose == Purpose.TRANSCRIPTION]
    Clip.objects.filter(pk__in=transcribed, status=ClipStatus.ASSIGNED).update(status=ClipStatus.QUEUED, updated_at=now)
    answering = [pk for pk, _, purpose in rows if purpose in ANSWERING_PURPOSES]
    if answering:
        SecondOpinion.objects.filter(answer_assignment_id__in=answering, state=SecondOpinionState.ANSWERING).update(
            state=SecondOpinionState.PENDING, answer_assignment=None)
    return closed


def assignment_expire_leases(*, batch: int = 500) -> int:
    """Open assignments whose lease ran out return their clips to the queue."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Assignment.objects.select_for_update(skip_locked=True)
            .filter(state=AssignmentState.OPEN, lease_expires_at__lte=now)
            .values_list("id", flat=True)[:batch]
        )
        return _close_and_requeue(ids, AssignmentState.EXPIRED, now)


def _db(model, field: str, value):
    """A parameter for hand-written SQL, prepared as the ORM would (UUIDs and times differ per backend)."""
    return model._meta.get_field(field).get_db_prep_value(value, connection)


def _claim_sql(standby: bool = False) -> str:
    """One statement picks, checks and lends the oldest queued clip this annotator never had.

    Linkability limit: the annotator must have had fewer than LINKABILITY_MAX_CLIPS clips of the
    same owner within LINKABILITY_DAYS, so nobody hears enough of one voice to know it. Only clips of
    the annotator's projects are lent. A clip an
    annotator once flagged goes only to someone allowed flagged content now (see _flagged_allowed)
    who did not opt out of its category.

    It inserts nothing when the annotator already holds an open assignment (a supervisor's listening
    does not count); with `standby`, only when they hold one they are working on and none in
    standby. Whether the clip may be lent at all (consent, deletion requests, legal holds, state) is
    the servability rule's SQL fragment (labeling.servability.lendable_sql), read inside the
    statement, so a clip whose consent is gone is never lent whatever state its row is in. On
    PostgreSQL concurrent claimers skip rows another transaction
    has locked; SQLite serializes writers and needs no lock clause. The unique index on open
    assignments per clip is the last guard.
    """
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    clip, assignment = Clip._meta.db_table, Assignment._meta.db_table
    opt_out = CategoryOptOut._meta.db_table
    member = ProjectMember._meta.db_table
    # Written as the partial unique index one_open_assignment_per_annotator is, so that it serves the check.
    supervisors = ", ".join(f"'{purpose}'" for purpose in SUPERVISOR_PURPOSES)
    held = (f"SELECT 1 FROM {assignment} h WHERE h.annotator_id = %s AND h.state = 'open' "
            f"AND NOT (h.purpose IN ({supervisors}))")
    if standby:  # one parameter more: the annotator, for the second test
        holding = (f"EXISTS ({held} AND NOT h.standby) AND NOT EXISTS (SELECT 1 FROM {assignment} w "
                   "WHERE w.annotator_id = %s AND w.state = 'open' AND w.standby)")
    else:
        holding = f"NOT EXISTS ({held})"
    return f"""
        INSERT INTO {assignment} (id, clip_id, account_id, annotator_id, shift_id, state, created_at, lease_expires_at,
                                  standby)
        SELECT %s, picked.id, picked.account_id, %s, %s, 'open', %s, %s, {'TRUE' if standby else 'FALSE'} FROM (
            SELECT c.id, c.account_id FROM {clip} c
            WHERE {lendable_sql("c")}
              AND c.project_id IN (SELECT m.project_id FROM {member} m WHERE m.user_id = %s AND m.role = 'annotator')
              AND NOT EXISTS (SELECT 1 FROM {assignment} a WHERE a.clip_id = c.id AND a.annotator_id = %s)
              AND (SELECT count(*) FROM {assignment} k WHERE k.annotator_id = %s AND k.account_id = c.account_id
                   AND k.created_at > %s) < %s
              AND (c.flag_category = '' OR (%s AND NOT EXISTS (
                   SELECT 1 FROM {opt_out} o WHERE o.user_id = %s AND o.category = c.flag_category)))
            ORDER BY c.queued_at, c.id
            LIMIT 1{lock}
        ) AS picked
        WHERE {holding}
        RETURNING clip_id, account_id"""


def _lend(claim_params: list, stamp, shift_params: list, standby: bool) -> tuple | None:
    """Run the claim statement; if it lent a clip, mark the clip assigned and count the claim on the
    shift. Returns (clip_id, account_id, clip marked?) or None. On PostgreSQL one statement does all
    three; elsewhere three, in the caller's transaction."""
    clip, shift = Clip._meta.db_table, Shift._meta.db_table
    mark = f"UPDATE {clip} SET status = 'assigned', updated_at = %s WHERE id {{}} AND status = 'queued'"
    count = (f"UPDATE {shift} SET last_claim_at = %s, last_active_at = %s, stretch_started_at = %s, "
             "clips_claimed = clips_claimed + 1 WHERE id = %s")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH lent AS ({_claim_sql(standby)}), "
                f"c AS ({mark.format('IN (SELECT clip_id FROM lent)')} RETURNING id), "
                f"s AS ({count} AND EXISTS (SELECT 1 FROM lent)) "
                "SELECT lent.clip_id, lent.account_id, EXISTS (SELECT 1 FROM c) FROM lent",
                [*claim_params, stamp, *shift_params])
            return cursor.fetchone()
        cursor.execute(_claim_sql(standby), claim_params)
        row = cursor.fetchone()
        if row is None:
            return None
        cursor.execute(mark.format("= %s"), [stamp, row[0]])
        marked = cursor.rowcount == 1
        cursor.execute(count, shift_params)
        return row[0], row[1], marked


def assignment_claim(*, annotator: AbstractBaseUser, standby: bool = False) -> Assignment | None:
    """Lend the oldest queued clip to this annotator, or return the one they already hold.

    With `standby` the clip is claimed ahead, while the annotator works on another one, so that the
    editor can fetch its audio before it is needed (it becomes theirs at the next submit or skip);
    the one already in standby is returned if there is one. A new clip is lent only within the work
    rules (labeling.work_rules); the shift's row lock serializes one annotator's claims, so two
    requests cannot both pass a limit.
    """
    for _ in range(2):
        now = timezone.now()
        with transaction.atomic():
            shift, rules = shift_for_claim(annotator=annotator)
            if shift is None:
                raise Conflict("no_open_shift", "Start a shift before asking for a clip.")
            held = _held(annotator, now)
            if standby:
                if held.get(False) is None:
                    raise Conflict("no_current_clip", "Ask for a clip ahead only while you work on one.")
                if held.get(True) is not None:
                    return held[True]
            elif held.get(False) is not None:  # a clip already held is returned whatever the pace or time
                return held[False]
            elif held.get(True) is not None:
                _promote_standby(annotator, now)
                held[True].refresh_from_db()
                return held[True]
            activity = ShiftActivity(shift.started_at, shift.last_claim_at, shift.last_active_at,
                                     shift.stretch_started_at, shift.clips_claimed, shift.flag_break_until)
            # Earlier shifts' time as it was at this shift's start: some of it may have left the
            # 24 h window since, so this errs towards rest, and it costs no query.
            worked_today = timedelta(seconds=shift.earlier_worked_seconds) + (now - shift.started_at)
            refusal = claim_refusal(rules, activity, worked_today, now)
            if refusal is not None:
                raise refusal
            flagged_ok = _flagged_allowed(shift, rules)
            stretch = stretch_start(rules, activity, now)
            if shift.opinions_waiting:
                answering = _lend_second_opinion(annotator=annotator, shift=shift, flagged_ok=flagged_ok, now=now,
                                                 stretch=stretch, standby=standby)
                if answering is not None:
                    return answering
            gold = _lend_gold(annotator=annotator, shift=shift, now=now, stretch=stretch, standby=standby)
            if gold is not None:
                return gold
            assignment = Assignment(
                annotator=annotator,
                shift=shift,
                created_at=now,
                lease_expires_at=now + timedelta(seconds=settings.ASSIGNMENT_LEASE_SECONDS),
                standby=standby,
            )
            stamp = _db(Assignment, "created_at", now)
            params = [
                _db(Assignment, "id", assignment.id), annotator.pk, shift.pk, stamp,
                _db(Assignment, "lease_expires_at", assignment.lease_expires_at), _db(LegalHold, "expires_at", now),
                annotator.pk, annotator.pk,
                annotator.pk, _db(Assignment, "created_at", now - timedelta(days=settings.LINKABILITY_DAYS)),
                settings.LINKABILITY_MAX_CLIPS, flagged_ok, annotator.pk, annotator.pk,
            ] + ([annotator.pk] if standby else [])
            shift_params = [_db(Shift, "last_claim_at", now), _db(Shift, "last_active_at", now),
                            _db(Shift, "stretch_started_at", stretch), shift.pk]
            row = _lend(params, stamp, shift_params, standby)
            if row is not None:
                assignment.clip_id = Clip._meta.pk.to_python(row[0])
                assignment.account_id = Account._meta.pk.to_python(row[1]) if row[1] is not None else None
                if not row[2]:  # cannot happen while the row lock or writer lock is held
                    raise RuntimeError("claimed clip changed state under its lock")
                assignment._state.adding = False
                ledger_append(action=LedgerEntry.Action.CLIP_CLAIM, actor_id=annotator.pk,
                              account_id=assignment.account_id, clip_id=assignment.clip_id,
                              assignment_id=assignment.id, detail={"purpose": Purpose.TRANSCRIPTION})
                return assignment
            if standby:
                return None
            # The claim statement found one open already: the living ones were handed back above, so
            # it has run out. Requeue it and try once more.
            expired = list(Assignment.objects.select_for_update().filter(
                annotator=annotator, state=AssignmentState.OPEN, lease_expires_at__lte=now).exclude(
                purpose__in=SUPERVISOR_PURPOSES).values_list("id", flat=True))
            if not expired:
                return None
            _close_and_requeue(expired, AssignmentState.EXPIRED, now)
    return None


def _held(annotator: AbstractBaseUser, now: datetime) -> dict[bool, Assignment]:
    """The annotator's open clips with a living lease: {False: the one they work on, True: the one in standby}."""
    rows = Assignment.objects.filter(annotator=annotator, state=AssignmentState.OPEN, lease_expires_at__gt=now
                                     ).exclude(purpose__in=SUPERVISOR_PURPOSES)
    return {assignment.standby: assignment for assignment in rows}


def _promote_standby(annotator: AbstractBaseUser, now: datetime) -> None:
    """The clip in standby, if any, becomes the one the annotator works on, with a fresh lease.
    Caller is in a transaction that has closed the previous one."""
    Assignment.objects.filter(annotator=annotator, state=AssignmentState.OPEN, standby=True,
                              lease_expires_at__gt=now).update(
        standby=False, lease_expires_at=now + timedelta(seconds=settings.ASSIGNMENT_LEASE_SECONDS))


def _flagged_allowed(shift: Shift, rules) -> bool:
    """May this shift be lent a clip someone flagged? Not over the exposure budget, and never as the
    next clip after the annotator's own flag."""
    if shift.exposure_seconds >= rules.exposure_budget.total_seconds():
        return False
    return shift.last_flag_at is None or (shift.last_claim_at is not None and shift.last_claim_at > shift.last_flag_at)


def _lend_second_opinion(*, annotator: AbstractBaseUser, shift: Shift, flagged_ok: bool, now: datetime,
                         stretch: datetime, standby: bool = False) -> Assignment | None:
    """Lend the oldest waiting second opinion this annotator may answer: never their own, never a
    clip they had before, within consent and the linkability limit. Caller holds the shift's lock."""
    waiting = (SecondOpinion.objects.select_for_update(skip_locked=True, of=("self",))
               .filter(state=SecondOpinionState.PENDING, clip__status__in=[ClipStatus.ASSIGNED, ClipStatus.LABELED])
               .exclude(asked_by=annotator)
               .filter(clip__project__in=project_ids_of(user=annotator, role=ProjectRole.ANNOTATOR))
               .exclude(clip__in=Assignment.objects.filter(annotator=annotator).values("clip_id"))
               .select_related("clip").only("id", "kind", *(f"clip__{name}" for name in SERVABILITY_FIELDS))
               .order_by("created_at"))
    if not flagged_ok:
        waiting = waiting.filter(clip__flag_category="")
    else:
        waiting = waiting.exclude(clip__flag_category__in=CategoryOptOut.objects.filter(user=annotator)
                                  .values("category"))
    for opinion in waiting[:5]:
        clip = opinion.clip
        purpose = Purpose.AGREEMENT if opinion.kind == OpinionKind.AGREEMENT else Purpose.SECOND_OPINION
        if not _may_hear(annotator, clip, purpose, now):
            continue
        assignment = _lend_outside_claim(annotator=annotator, shift=shift, clip=clip, purpose=purpose, now=now,
                                         stretch=stretch, standby=standby)
        if assignment is not None:
            SecondOpinion.objects.filter(pk=opinion.pk).update(state=SecondOpinionState.ANSWERING,
                                                               answer_assignment=assignment)
        return assignment
    return None


def _lend_outside_claim(*, annotator: AbstractBaseUser, shift: Shift, clip: Clip, purpose: str, now: datetime,
                        stretch: datetime, standby: bool) -> Assignment | None:
    """Lend a clip the claim statement does not pick (a second opinion, a gold clip), counted on the
    shift and in the ledger like a claim; None if the unique indexes refuse it. Caller holds the
    shift's lock and checked _may_hear."""
    try:
        with transaction.atomic():  # the unique indexes refuse a second open assignment
            assignment = Assignment.objects.create(
                clip_id=clip.id, account_id=clip.account_id, annotator=annotator, shift=shift, purpose=purpose,
                created_at=now, standby=standby,
                lease_expires_at=now + timedelta(seconds=settings.ASSIGNMENT_LEASE_SECONDS))
    except IntegrityError:
        return None
    Shift.objects.filter(pk=shift.pk).update(last_claim_at=now, last_active_at=now, stretch_started_at=stretch,
                                             clips_claimed=F("clips_claimed") + 1)
    ledger_append(action=LedgerEntry.Action.CLIP_CLAIM, actor_id=annotator.pk, account_id=clip.account_id,
                  clip_id=clip.id, assignment_id=assignment.id, detail={"purpose": purpose})
    return assignment


def _may_hear(annotator: AbstractBaseUser, clip: Clip, purpose: str, now: datetime) -> bool:
    """What the claim statement checks, for clips lent outside it: the servability rule, and the
    linkability limit."""
    if not servability.servable(clip, purpose, now=now):
        return False
    since = now - timedelta(days=settings.LINKABILITY_DAYS)
    heard = Assignment.objects.filter(annotator=annotator, account_id=clip.account_id, created_at__gt=since)
    return heard.count() < settings.LINKABILITY_MAX_CLIPS


def _lend_gold(*, annotator: AbstractBaseUser, shift: Shift, now: datetime, stretch: datetime,
               standby: bool = False) -> Assignment | None:
    """In each project's gold_share of claims, lend a gold clip of the project this annotator never
    had. It is shown like any other clip (SHOWN_PURPOSE). Caller holds the shift's lock."""
    draw = secrets.randbelow(1_000_000) / 1_000_000
    projects = Project.objects.filter(pk__in=project_ids_of(user=annotator, role=ProjectRole.ANNOTATOR),
                                      gold_share__gt=draw).values("id")
    golds = (GoldClip.objects.filter(project__in=projects, clip__status=ClipStatus.LABELED, clip__flag_category="",
                                     clip__wrapped_key__isnull=False)
             .exclude(clip__in=Assignment.objects.filter(annotator=annotator).values("clip_id"))
             .select_related("clip").only("id", *(f"clip__{name}" for name in SERVABILITY_FIELDS)).order_by("?"))
    for gold in golds[:3]:
        if _may_hear(annotator, gold.clip, Purpose.GOLD, now):
            return _lend_outside_claim(annotator=annotator, shift=shift, clip=gold.clip, purpose=Purpose.GOLD,
                                       now=now, stretch=stretch, standby=standby)
    return None


def _live_assignment(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser, lock: bool,
                     working: bool = True) -> Assignment:
    """The annotator's open assignment with a living lease, or the error that explains why not.
    `working`: the one they work on; a clip in standby may only be fetched ahead (audio, peaks)."""
    assignment = assignment_for_annotator(assignment_id=assignment_id, annotator=annotator, lock=lock)
    if assignment is None:
        raise NotFound("not_found", "No such assignment.")
    if assignment.state == AssignmentState.REVOKED:
        raise Gone("withdrawn", "This clip was withdrawn by its owner.")
    if assignment.state == AssignmentState.ESCALATED:
        raise Conflict("escalated", "This clip was flagged and is with a supervisor now.")
    if assignment.state != AssignmentState.OPEN:
        raise Conflict("assignment_closed", f"This assignment is {assignment.state}.")
    if assignment.lease_expires_at <= timezone.now():
        raise Conflict("lease_expired", "The time for this clip ran out; ask for the next one.")
    if working and assignment.standby:
        raise Conflict("next_in_line", "This clip is next in line: finish the one before it first.")
    return assignment


def assignment_audio_token(*, assignment_id: uuid.UUID) -> str:
    """The token the assignee's page presents to fetch the audio: keyed to this assignment, never
    stored, never part of a URL."""
    return hmac.new(settings.SECRET_KEY.encode(), f"audio:{assignment_id}".encode(), hashlib.sha256).hexdigest()


def assignment_audio(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser, token: str) -> bytes:
    """The de-identified audio, only to its assignee presenting the assignment's token, while the
    lease lives, consent holds right now and the assignment has plays left."""
    _check_audio_token(assignment_id, token)
    now = timezone.now()
    played = Assignment.objects.filter(
        pk=assignment_id, annotator=annotator, state=AssignmentState.OPEN, lease_expires_at__gt=now,
        plays__lt=settings.AUDIO_MAX_PLAYS,
    ).update(plays=F("plays") + 1)
    assignment = _live_assignment(assignment_id=assignment_id, annotator=annotator, lock=False, working=False)
    if not played:
        raise Refused(
            "plays_used_up", f"This clip was played {settings.AUDIO_MAX_PLAYS} times, the most allowed: "
            "submit what you heard or skip it.")
    clip, audio = _servable_audio(assignment)
    # Every served copy carries its assignment in an inaudible mark (redaction.watermark).
    audio = encode_wav(watermark.embed(audio, vault.watermark_key(clip.id), vault.watermark_payload(assignment.id)))
    if clip.flag_category and assignment.plays == 1 and assignment.shift_id is not None:
        # Heard once, counted once against the shift's budget of flagged content.
        Shift.objects.filter(pk=assignment.shift_id).update(
            exposure_seconds=F("exposure_seconds") + (clip.duration_seconds or 0.0))
    ledger_append(action=LedgerEntry.Action.AUDIO_STREAM, actor_id=annotator.pk, account_id=clip.account_id,
                  clip_id=clip.id, assignment_id=assignment.id, detail={"purpose": assignment.purpose})
    return audio


def assignment_peaks(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser, token: str,
                     bins: int) -> tuple[np.ndarray, float]:
    """The waveform envelope of the assignment's de-identified audio for the editor to draw, under
    the same conditions as the audio itself (token, assignee, lease, consent now); it does not count
    as a play: an envelope of `bins` (min, max) pairs carries no voice. Returns (peaks, seconds)."""
    _check_audio_token(assignment_id, token)
    if not 1 <= bins <= waveform.MAX_BINS:
        raise ApplicationError("invalid_bins", f"Ask for 1 to {waveform.MAX_BINS} bins.",
                               fields={"bins": ["Out of range."]})
    _, samples = _servable_audio(_live_assignment(assignment_id=assignment_id, annotator=annotator, lock=False,
                                                  working=False))
    return waveform.peaks(samples, bins), len(samples) / 16_000


def _check_audio_token(assignment_id: uuid.UUID, token: str) -> None:
    if not hmac.compare_digest(token or "", assignment_audio_token(assignment_id=assignment_id)):
        raise Refused("bad_audio_token", "This audio is served only to the page that claimed the clip.")


def _servable_audio(assignment: Assignment) -> tuple[Clip, np.ndarray]:
    """The clip of a live assignment and its de-identified samples, if the servability rule lets this
    kind of assignment hear it right now; otherwise the 410 that says why."""
    clip = Clip.objects.only(*SERVABILITY_FIELDS, "deid_path", "duration_seconds").get(pk=assignment.clip_id)
    _refuse_unless_servable(clip, assignment.purpose, timezone.now())
    try:
        return clip, vault.deid_samples(clip)
    except (vault.VaultError, FileNotFoundError):
        raise Gone("withdrawn", "This clip's audio no longer exists.") from None


def _refuse_unless_servable(clip: Clip, purpose: str, now: datetime) -> None:
    """The 410 that tells a person why this clip may not reach them now (labeling.servability)."""
    reason = servability.refusal(clip, purpose, now=now)
    if reason is None:
        return
    code = reason if reason in ("deletion_requested", "legal_hold") else "withdrawn"
    message = servability.REFUSALS["audio_gone" if reason == "state" else reason]
    raise Gone(code, message)


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


def _project_of_assignment(assignment_id: uuid.UUID) -> Project | None:
    return Project.objects.filter(clips__assignments__id=assignment_id).first()


def assignment_draft_save(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser, labels: Labels) -> datetime:
    """Keep the editor's work on an open assignment so that a reload or a crash loses nothing."""
    project = _project_of_assignment(assignment_id)
    if project is not None:
        labels = _labels_checked(labels, project, final=False)
    now = timezone.now()
    saved = Assignment.objects.filter(pk=assignment_id, annotator=annotator, state=AssignmentState.OPEN,
                                      standby=False, lease_expires_at__gt=now).exclude(
        purpose__in=SUPERVISOR_PURPOSES).update(
        draft=labels.as_json(), draft_saved_at=now)
    if not saved:
        _live_assignment(assignment_id=assignment_id, annotator=annotator, lock=False)  # raises the reason
        raise NotFound("not_found", "No such assignment.")
    return now


def transcript_submit(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser, labels: Labels) -> Transcript:
    project = _project_of_assignment(assignment_id)
    if project is None:
        _live_assignment(assignment_id=assignment_id, annotator=annotator, lock=False)
        raise NotFound("not_found", "No such assignment.")
    labels = _labels_checked(labels, project, final=True)
    now = timezone.now()
    with transaction.atomic():
        row = _close_submitted(assignment_id=assignment_id, annotator=annotator, now=now)
        if row is None:
            _live_assignment(assignment_id=assignment_id, annotator=annotator, lock=False)  # raises the reason
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
        _promote_standby(annotator, now)
        return transcript


def _close_submitted(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser, now: datetime) -> tuple | None:
    """Close the open, leased assignment as submitted, mark its shift active and, for a
    transcription, its clip labeled. Returns (clip_id, account_id, purpose, clip labeled?) or None
    when the assignment was not open. On PostgreSQL one statement does all three; elsewhere three,
    in the caller's transaction. A supervisor's review is closed by the escalation's outcome instead."""
    assignment, shift, clip = Assignment._meta.db_table, Shift._meta.db_table, Clip._meta.db_table
    close = (f"UPDATE {assignment} SET state = 'submitted', closed_at = %s, draft = NULL "
             "WHERE id = %s AND annotator_id = %s AND state = 'open' AND lease_expires_at > %s "
             "AND NOT standby AND purpose IN ('transcription', 'second_opinion', 'gold', 'agreement') "
             "RETURNING clip_id, account_id, shift_id, purpose")
    params = [_db(Assignment, "closed_at", now), _db(Assignment, "id", assignment_id), annotator.pk,
              _db(Assignment, "lease_expires_at", now)]
    stamp = _db(Clip, "updated_at", now)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH a AS ({close}), "
                f"s AS (UPDATE {shift} SET last_active_at = %s WHERE id IN (SELECT shift_id FROM a)), "
                f"c AS (UPDATE {clip} SET status = 'labeled', updated_at = %s "
                "WHERE id IN (SELECT clip_id FROM a WHERE purpose = 'transcription') AND status = 'assigned' "
                "RETURNING id) "
                "SELECT a.clip_id, a.account_id, a.purpose, EXISTS (SELECT 1 FROM c) FROM a",
                [*params, stamp, stamp])
            return cursor.fetchone()
        cursor.execute(close, params)
        row = cursor.fetchone()
        if row is None:
            return None
        cursor.execute(f"UPDATE {shift} SET last_active_at = %s WHERE id = %s", [stamp, row[2]])
        if row[3] != Purpose.TRANSCRIPTION:
            return row[0], row[1], row[3], False
        cursor.execute(f"UPDATE {clip} SET status = 'labeled', updated_at = %s WHERE id = %s AND status = 'assigned'",
                       [stamp, row[0]])
        return row[0], row[1], row[3], cursor.rowcount == 1


def assignment_skip(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser) -> Assignment:
    """Give the clip back to the queue for someone else; this annotator will not get it again."""
    with transaction.atomic():
        assignment = _live_assignment(assignment_id=assignment_id, annotator=annotator, lock=True)
        now = timezone.now()
        _close_and_requeue([assignment.pk], AssignmentState.SKIPPED, now)
        _promote_standby(annotator, now)
        # The annotator worked just now: the current stretch without a break goes on.
        Shift.objects.filter(pk=assignment.shift_id).update(last_active_at=now)
    assignment.refresh_from_db()
    return assignment


# ---------------------------------------------------------------- leak investigations


@dataclass(frozen=True)
class LeakTrace:
    found: bool
    assignment: Assignment | None = None
    score: float = 0.0  # standard deviations; under "no mark" it is standard normal
    speed: float = 1.0
    offset_seconds: float = 0.0
    clips_compared: int = 0


def leak_trace(*, audio: bytes, supervisor: AbstractBaseUser) -> LeakTrace:
    """Which assignment a leaked copy came from. The leak is compared with every clip that was
    served and still has its audio; the best-matching few are read, and one of a clip's served
    assignments is named only as redaction.watermark.identify allows."""
    try:
        samples, rate = decode(audio, max_seconds=settings.MAX_CLIP_SECONDS * 1.1 + 2.0)
    except AudioError as exc:
        raise ApplicationError(exc.code, exc.message, fields={"audio": [exc.message]}) from None
    leak = to_target_rate(samples, rate)
    profile = watermark.LeakProfile(leak)
    served_clips = (Clip.objects.filter(assignments__plays__gt=0, wrapped_key__isnull=False).distinct()
                    .only("id", "wrapped_key", "deid_path"))
    best: list[tuple[float, int, Clip, np.ndarray]] = []  # the closest TRACE_CANDIDATES, audio kept for reading
    compared = 0
    for clip in served_clips.iterator(chunk_size=200):
        try:
            clip_audio = vault.deid_samples(clip)
        except (vault.VaultError, FileNotFoundError):
            continue
        compared += 1
        _, _, likeness = profile.coarse(clip_audio)
        if likeness >= TRACE_MIN_LIKENESS:
            best = sorted([*best, (likeness, compared, clip, clip_audio)], key=lambda m: -m[0])[:TRACE_CANDIDATES]
    result = LeakTrace(False, clips_compared=compared)
    for _, _, clip, clip_audio in best:
        reading = watermark.read(leak, clip_audio, vault.watermark_key(clip.id), profile)
        assignments = {vault.watermark_payload(a.id): a
                       for a in Assignment.objects.filter(clip=clip, plays__gt=0).select_related("annotator")}
        named = watermark.identify(reading, list(assignments))
        if named is not None:
            result = LeakTrace(True, assignments[named], reading.score(named), reading.speed,
                               reading.offset_seconds, compared)
            break
    ledger_append(action=LedgerEntry.Action.LEAK_TRACE, actor_id=supervisor.pk,
                  account_id=result.assignment.account_id if result.found else None,
                  clip_id=result.assignment.clip_id if result.found else None,
                  assignment_id=result.assignment.id if result.found else None,
                  detail={"found": result.found, "score": round(result.score, 1), "compared": compared})
    return result


# ---------------------------------------------------------------- flags and escalations


def _bounded_text(value: str, *, field: str, limit: int, required: bool, what: str) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ApplicationError(f"missing_{field}", f"Give {what}.", fields={field: ["This field is required."]})
    if len(value) > limit:
        raise ApplicationError(f"{field}_too_long", f"{what[0].upper()}{what[1:]} holds at most {limit} characters.",
                               fields={field: ["Too long."]})
    return value


def _flag_category(category: str) -> str:
    if category not in FlagCategory.values:
        raise ApplicationError("invalid_category", f"Choose one of: {', '.join(FlagCategory.values)}.",
                               fields={"category": ["Unknown category."]})
    return category


def assignment_flag(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser, category: str, note: str = "",
                    text: str = "") -> Escalation:
    """The annotator flags the clip in front of them. It leaves the queue at once for the supervisors'
    escalation queue; every open assignment of it closes; the annotator's shift pauses
    (WorkRules.flag_break) and their next clip is never a flagged one."""
    category = _flag_category(category)
    note = _bounded_text(note, field="note", limit=MAX_NOTE_CHARS, required=False, what="a note")
    text = _bounded_text(text, field="text", limit=MAX_TRANSCRIPT_CHARS, required=False, what="the transcript")
    now = timezone.now()
    with transaction.atomic():
        # The clip's row first, then the assignment's, in the order withdrawal takes them.
        clip_id = _live_assignment(assignment_id=assignment_id, annotator=annotator, lock=False).clip_id
        clip = Clip.objects.select_for_update().get(pk=clip_id)
        assignment = _live_assignment(assignment_id=assignment_id, annotator=annotator, lock=True)
        if assignment.purpose in SUPERVISOR_PURPOSES:
            raise Conflict("not_flaggable", "Supervisors record an outcome instead of flagging.")
        if clip.status not in servability.SERVABLE_STATES[assignment.purpose]:
            raise Gone("withdrawn", "This clip was withdrawn by its owner.")
        newly_heard = assignment.plays > 0 and not clip.flag_category  # a flagged clip was counted when served
        if not clip.flag_category or FLAG_SEVERITY[category] < FLAG_SEVERITY[clip.flag_category]:
            clip.flag_category = category
        Clip.objects.filter(pk=clip.pk).update(status=ClipStatus.ESCALATED, flag_category=clip.flag_category,
                                               updated_at=now)
        Assignment.objects.filter(clip=clip, state=AssignmentState.OPEN).exclude(
            purpose__in=SUPERVISOR_PURPOSES).update(state=AssignmentState.ESCALATED, closed_at=now)
        _opinions_cancel(clip=clip, now=now)
        # The clip claimed ahead goes back too: after a flag comes a pause, then never a flagged clip.
        _close_and_requeue(list(Assignment.objects.filter(annotator=annotator, state=AssignmentState.OPEN,
                                                          standby=True).values_list("id", flat=True)),
                           AssignmentState.RELEASED, now)
        rules = work_rules_for(annotator=annotator)
        Shift.objects.filter(pk=assignment.shift_id).update(
            last_flag_at=now, flag_break_until=now + rules.flag_break, last_active_at=now,
            exposure_seconds=F("exposure_seconds") + ((clip.duration_seconds or 0.0) if newly_heard else 0.0))
        escalation = Escalation.objects.create(
            clip=clip, assignment=assignment, flagged_by=annotator, category=category,
            severity=FLAG_SEVERITY[category], note=note, annotator_text=text, created_at=now,
            due_at=now + timedelta(hours=settings.ESCALATION_RESPONSE_HOURS[category]))
        _ledger_escalation(escalation, actor=annotator, step="flag", category=category)
    return escalation


def _ledger_escalation(escalation: Escalation, *, actor: AbstractBaseUser, step: str, **detail) -> None:
    ledger_append(action=LedgerEntry.Action.ESCALATION, actor_id=actor.pk, account_id=escalation.clip.account_id,
                  clip_id=escalation.clip_id, assignment_id=escalation.assignment_id,
                  detail={"step": step, "escalation": str(escalation.id), **detail})


def _clip_of_escalation_locked(escalation_id: uuid.UUID) -> Clip:
    """The escalation's clip, row-locked before the escalation is: the order withdrawal takes them."""
    clip_id = Escalation.objects.filter(pk=escalation_id).values_list("clip_id", flat=True).first()
    if clip_id is None:
        raise NotFound("not_found", "No such escalation.")
    return Clip.objects.select_for_update().get(pk=clip_id)


def _escalation_locked(escalation_id: uuid.UUID) -> Escalation:
    escalation = Escalation.objects.select_for_update(of=("self",)).select_related("clip").filter(
        pk=escalation_id).first()
    if escalation is None:
        raise NotFound("not_found", "No such escalation.")
    return escalation


def _escalation_of(supervisor: AbstractBaseUser, escalation_id: uuid.UUID) -> Escalation:
    """The escalation, locked, if this supervisor has claimed it and it is not closed."""
    escalation = _escalation_locked(escalation_id)
    if escalation.state not in ESCALATION_UNRESOLVED:
        raise Conflict("escalation_closed", f"This escalation is {escalation.state}.")
    if escalation.state != EscalationState.CLAIMED or escalation.claimed_by_id != supervisor.pk:
        raise Conflict("not_claimed", "Claim this escalation before working on it.")
    return escalation


def escalation_claim(*, escalation_id: uuid.UUID, supervisor: AbstractBaseUser) -> Escalation:
    """Take an escalation; nobody else works on it until it is resolved, unless it stays unresolved
    with its claimant for ESCALATION_TAKE_OVER_MINUTES: then another supervisor may take it over.
    Claiming it twice is harmless."""
    with transaction.atomic():
        escalation = _escalation_locked(escalation_id)
        if escalation.state not in ESCALATION_UNRESOLVED:
            raise Conflict("escalation_closed", f"This escalation is {escalation.state}.")
        now = timezone.now()
        previous = None
        if escalation.state == EscalationState.CLAIMED:
            if escalation.claimed_by_id == supervisor.pk:
                return escalation
            held_for = now - escalation.claimed_at
            if held_for < timedelta(minutes=settings.ESCALATION_TAKE_OVER_MINUTES):
                wait = settings.ESCALATION_TAKE_OVER_MINUTES - int(held_for.total_seconds() // 60)
                raise Conflict("claimed_by_another", "Another supervisor is handling this escalation; "
                               f"if it stays with them, you can take it over in {wait} min.")
            previous = escalation.claimed_by_id  # left unresolved too long: another supervisor takes it over
        escalation.state, escalation.claimed_by, escalation.claimed_at = EscalationState.CLAIMED, supervisor, now
        escalation.save(update_fields=["state", "claimed_by", "claimed_at"])
        if previous is None:
            _ledger_escalation(escalation, actor=supervisor, step="claim")
        else:
            Assignment.objects.filter(clip_id=escalation.clip_id, annotator_id=previous, state=AssignmentState.OPEN,
                                      purpose=Purpose.ESCALATION_REVIEW).update(state=AssignmentState.RELEASED,
                                                                               closed_at=now)
            _ledger_escalation(escalation, actor=supervisor, step="take_over", previous=previous)
    return escalation


def escalation_transcript_view(*, escalation_id: uuid.UUID, supervisor: AbstractBaseUser) -> Escalation:
    """The claimant reads the clip's transcript before deciding whether to hear it; the reading is
    in the ledger."""
    with transaction.atomic():
        escalation = _escalation_of(supervisor, escalation_id)
        ledger_append(action=LedgerEntry.Action.TRANSCRIPT_VIEW, actor_id=supervisor.pk,
                      account_id=escalation.clip.account_id, clip_id=escalation.clip_id,
                      assignment_id=escalation.assignment_id, detail={"purpose": Purpose.ESCALATION_REVIEW})
    return escalation


def _supervisor_listening(*, clip: Clip, supervisor: AbstractBaseUser, purpose: str) -> Assignment:
    """An assignment through which a supervisor may hear a clip, watermarked like any other: the
    open one if its lease lives, else a new one. The servability rule is checked here and again at
    every stream."""
    now = timezone.now()
    _refuse_unless_servable(clip, purpose, now)
    current = Assignment.objects.select_for_update().filter(
        clip=clip, annotator=supervisor, purpose=purpose, state=AssignmentState.OPEN).first()
    if current is not None and current.lease_expires_at > now:
        return current
    if current is not None:
        Assignment.objects.filter(pk=current.pk).update(state=AssignmentState.EXPIRED, closed_at=now)
    return Assignment.objects.create(
        clip=clip, account_id=clip.account_id, annotator=supervisor, shift=None, purpose=purpose, created_at=now,
        lease_expires_at=now + timedelta(seconds=settings.ASSIGNMENT_LEASE_SECONDS))


def escalation_listen(*, escalation_id: uuid.UUID, supervisor: AbstractBaseUser) -> Assignment:
    """The claimant chose to hear the clip: an assignment and token for the audio endpoint."""
    with transaction.atomic():
        escalation = _escalation_of(supervisor, escalation_id)
        return _supervisor_listening(clip=escalation.clip, supervisor=supervisor, purpose=Purpose.ESCALATION_REVIEW)


def escalation_resolve(*, escalation_id: uuid.UUID, supervisor: AbstractBaseUser, outcome: str, reason: str,
                       referred_to: str = "") -> Escalation:
    """Record the claimant's decision, with its reason, and carry it out:
    no_action puts the clip back in the queue (keeping its flag, so exposure budgets and opt-outs
    apply); purge shreds it unless a legal hold is in force; referral and wellbeing_check keep it
    out of review. The platform contacts nobody itself."""
    if outcome not in EscalationOutcome.values:
        raise ApplicationError("invalid_outcome", f"Choose one of: {', '.join(EscalationOutcome.values)}.",
                               fields={"outcome": ["Unknown outcome."]})
    reason = _bounded_text(reason, field="reason", limit=MAX_REASON_CHARS, required=True,
                           what="the reason for this decision")
    referred_to = _bounded_text(referred_to, field="referred_to", limit=200, required=outcome == "referral",
                                what="who the case is referred to")
    now = timezone.now()
    with transaction.atomic():
        clip = _clip_of_escalation_locked(escalation_id)
        escalation = _escalation_of(supervisor, escalation_id)
        if outcome == EscalationOutcome.PURGE:
            hold = legal_hold_active(clip_id=clip.id, now=now)
            if hold is not None:
                raise Conflict("legal_hold", f"A legal hold keeps this clip until {hold.expires_at:%Y-%m-%d %H:%M} "
                               "UTC: it cannot be purged before then.")
            _clip_shred(clip, reason="purged_after_escalation", now=now)
        elif (outcome == EscalationOutcome.NO_ACTION and clip.status == ClipStatus.ESCALATED
              and servability.refusal(clip, servability.LEND, now=now, status=ClipStatus.QUEUED) is None):
            # Back to the queue only if it could be lent there: never under a hold, after a deletion
            # request or without consent; such a clip stays out of review.
            Clip.objects.filter(pk=clip.pk).update(status=ClipStatus.QUEUED, updated_at=now)
        Assignment.objects.filter(clip=clip, state=AssignmentState.OPEN, purpose=Purpose.ESCALATION_REVIEW).update(
            state=AssignmentState.RELEASED, closed_at=now)
        escalation.state, escalation.outcome, escalation.reason = EscalationState.RESOLVED, outcome, reason
        escalation.referred_to, escalation.resolved_by, escalation.resolved_at = referred_to, supervisor, now
        escalation.save(update_fields=["state", "outcome", "reason", "referred_to", "resolved_by", "resolved_at"])
        _ledger_escalation(escalation, actor=supervisor, step="resolve", outcome=outcome)
    return escalation


def legal_hold_active(*, clip_id: uuid.UUID, now: datetime) -> LegalHold | None:
    return LegalHold.objects.in_force(now).filter(clip_id=clip_id).order_by("-expires_at").first()


def legal_hold_place(*, escalation_id: uuid.UUID, supervisor: AbstractBaseUser, reason: str, days: int) -> LegalHold:
    """Freeze deletion of the escalation's clip for `days`, with the reason; any supervisor may, at
    any stage, while the clip still exists. The data subject's ledger shows that a hold exists."""
    reason = _bounded_text(reason, field="reason", limit=MAX_REASON_CHARS, required=True, what="the hold's reason")
    if not 1 <= days <= settings.LEGAL_HOLD_MAX_DAYS:
        raise ApplicationError("invalid_days", f"A hold lasts 1 to {settings.LEGAL_HOLD_MAX_DAYS} days.",
                               fields={"days": ["Out of range."]})
    now = timezone.now()
    with transaction.atomic():
        clip = _clip_of_escalation_locked(escalation_id)
        escalation = _escalation_locked(escalation_id)
        if clip.wrapped_key is None:
            raise Conflict("clip_gone", "This clip no longer exists; there is nothing to hold.")
        hold = LegalHold.objects.create(clip=clip, escalation=escalation, reason=reason, created_by=supervisor,
                                        created_at=now, expires_at=now + timedelta(days=days))
        _ledger_escalation(escalation, actor=supervisor, step="legal_hold",
                           expires_at=hold.expires_at.isoformat(timespec="seconds"))
    return hold


def _clip_shred(clip: Clip, *, reason: str, now: datetime) -> None:
    """Delete a clip: its data key (so any copy anywhere is unreadable), audio files, draft,
    metadata, transcripts and the text of second opinions and flags go; the row stays as a
    tombstone (id, time, reason). Caller holds the clip's row lock."""
    paths = [p for p in (clip.raw_path, clip.deid_path) if p]
    Clip.objects.filter(pk=clip.pk).update(
        status=ClipStatus.DELETED, status_reason=reason, wrapped_key=None, raw_path="", deid_path="",
        draft_transcript="", masked_spans=[], queued_at=None, updated_at=now, device_serial="", recorded_at=None,
        wake_word_score=None, locale="", audio_format="", input_seconds=None, duration_seconds=None,
        trimmed_seconds=None, last_error="", flag_category="", deletion_requested_at=None)
    Assignment.objects.filter(clip=clip, state=AssignmentState.OPEN).update(state=AssignmentState.REVOKED,
                                                                           closed_at=now)
    Assignment.objects.filter(clip=clip, draft__isnull=False).update(draft=None)
    Transcript.objects.filter(clip=clip).delete()
    GoldClip.objects.filter(clip=clip).delete()
    exports_expire(ExportJob.objects.filter(items__clip=clip),
                    reason="A clip in it was deleted; request a new export.")
    _opinions_cancel(clip=clip, now=now)
    SecondOpinion.objects.filter(clip=clip).update(first_text="", answer_text="", adjudicated_text="")
    Escalation.objects.filter(clip=clip, state__in=ESCALATION_UNRESOLVED).update(state=EscalationState.WITHDRAWN)
    Escalation.objects.filter(clip=clip).update(annotator_text="", note="")
    transaction.on_commit(lambda: [vault.delete_audio(p) for p in paths])


# ---------------------------------------------------------------- second opinions


def second_opinion_ask(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser, start_seconds: float,
                       end_seconds: float, text: str) -> SecondOpinion:
    """Ask another annotator, blind, what is said between two times of the clip in front of you;
    `text` is your own reading, which they never see."""
    text = _bounded_text(text, field="text", limit=500, required=True, what="your reading of that part")
    with transaction.atomic():
        assignment = _live_assignment(assignment_id=assignment_id, annotator=annotator, lock=True)
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


def _opinion_in_adjudication(opinion_id: uuid.UUID) -> SecondOpinion:
    opinion = SecondOpinion.objects.select_for_update(of=("self",)).select_related("clip").filter(
        pk=opinion_id).first()
    if opinion is None:
        raise NotFound("not_found", "No such second opinion.")
    if opinion.state != SecondOpinionState.ADJUDICATION:
        raise Conflict("opinion_closed", f"This second opinion is {opinion.state}.")
    return opinion


def second_opinion_view(*, opinion_id: uuid.UUID, supervisor: AbstractBaseUser) -> SecondOpinion:
    """A supervisor reads both readings to decide between them; the reading is in the ledger."""
    with transaction.atomic():
        opinion = _opinion_in_adjudication(opinion_id)
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
        return _supervisor_listening(clip=clip, supervisor=supervisor, purpose=Purpose.ADJUDICATION)


def second_opinion_adjudicate(*, opinion_id: uuid.UUID, supervisor: AbstractBaseUser, text: str) -> SecondOpinion:
    """The supervisor's reading of the stretch settles a second opinion the two annotators disagreed on."""
    text = _bounded_text(text, field="text", limit=MAX_TRANSCRIPT_CHARS, required=True,
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


# ---------------------------------------------------------------- quality: gold clips and agreement


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
            listening = _supervisor_listening(clip=clip, supervisor=supervisor, purpose=Purpose.QUALITY_REVIEW)
            ledger_append(action=LedgerEntry.Action.TRANSCRIPT_VIEW, actor_id=supervisor.pk,
                          account_id=clip.account_id, clip_id=clip.id, assignment_id=listening.id,
                          detail={"purpose": Purpose.QUALITY_REVIEW})
            return listening, transcript
    return None


def gold_mark(*, assignment_id: uuid.UUID, supervisor: AbstractBaseUser, reference_text: str) -> GoldClip:
    """The supervisor's reference for the clip they are reviewing makes it a gold clip."""
    reference = _bounded_text(reference_text, field="reference_text", limit=MAX_TRANSCRIPT_CHARS, required=True,
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


# ---------------------------------------------------------------- annotators' content settings


def annotator_opt_outs_set(*, annotator: AbstractBaseUser, categories: list[str]) -> list[str]:
    """The flagged categories this annotator does not want to hear, replacing the earlier choice."""
    chosen = sorted({_flag_category(c) for c in categories}, key=FLAG_SEVERITY.get)
    with transaction.atomic():
        CategoryOptOut.objects.filter(user=annotator).exclude(category__in=chosen).delete()
        for category in chosen:
            CategoryOptOut.objects.get_or_create(user=annotator, category=category)
    return chosen


# ---------------------------------------------------------------- deletion by the data subject


def clips_delete(*, account: Account, clip_id: uuid.UUID | None = None, reason: str = "deleted_by_owner",
                 by: str = "owner") -> DeletionReceipt:
    """The owner deletes one clip (clip_id) or all of them. Each clip is shredded at once
    (_clip_shred), unless a legal hold is in force: then it leaves review now, keeps its audio, and
    is deleted when the hold ends (clips_delete_after_holds). Returns the signed receipt; a clip
    deleted before is listed as such. Another account's clip does not exist for this one."""
    now = timezone.now()
    with transaction.atomic():
        clips = Clip.objects.select_for_update().filter(account=account)
        if clip_id is not None:
            clips = clips.filter(pk=clip_id)
            if not clips.exists():
                raise NotFound("not_found", "You have no recording with this id.")
        items = []
        for clip in clips.order_by("created_at", "id"):
            if clip.status == ClipStatus.DELETED:
                items.append({"clip": str(clip.id), "status": "already_deleted"})
                continue
            hold = legal_hold_active(clip_id=clip.id, now=now)
            if hold is None:
                _clip_shred(clip, reason=reason, now=now)
                items.append({"clip": str(clip.id), "status": "deleted"})
                continue
            _clip_keep_for_hold(clip, now=now)
            items.append({"clip": str(clip.id), "status": "deleted_when_hold_ends",
                          "hold_ends_at": hold.expires_at.isoformat(timespec="seconds")})
        if clip_id is None and account.first_name:
            Account.objects.filter(pk=account.pk).update(first_name="")
        receipt = DeletionReceipt(account=account, created_at=now, scope="clip" if clip_id else "all", items=items)
        receipt.signature = receipt_signature(receipt)
        receipt.save()
        counts = {status: sum(item["status"] == status for item in items)
                  for status in ("deleted", "already_deleted", "deleted_when_hold_ends")}
        ledger_append(action=LedgerEntry.Action.DELETION, actor_id=account.user_id, account_id=account.id,
                      clip_id=clip_id, detail={"receipt": str(receipt.id), "by": by, **counts})
    return receipt


def _clip_keep_for_hold(clip: Clip, *, now: datetime) -> None:
    """The owner asked for deletion while a legal hold is in force: the clip leaves review at once,
    keeps its audio for the hold, and is deleted when the hold ends."""
    update = {"deletion_requested_at": now, "updated_at": now}
    if clip.status in LIVE_STATES:
        update.update(status=ClipStatus.WITHDRAWN, status_reason="deletion_requested", queued_at=None)
    Clip.objects.filter(pk=clip.pk).update(**update)
    Assignment.objects.filter(clip=clip, state=AssignmentState.OPEN).exclude(
        purpose__in=SUPERVISOR_PURPOSES).update(state=AssignmentState.REVOKED, closed_at=now)
    _opinions_cancel(clip=clip, now=now)


def clips_delete_after_holds(*, batch: int = 200) -> int:
    """Delete clips whose owner asked for it while a legal hold was in force, once no hold is.
    Returns how many."""
    now = timezone.now()
    held = LegalHold.objects.in_force(now).values("clip_id")
    deleted = 0
    with transaction.atomic():
        for clip in (Clip.objects.select_for_update(skip_locked=True)
                     .filter(deletion_requested_at__isnull=False).exclude(pk__in=held)[:batch]):
            _clip_shred(clip, reason="deleted_by_owner_after_hold", now=now)
            ledger_append(action=LedgerEntry.Action.DELETION, account_id=clip.account_id, clip_id=clip.id,
                          detail={"by": "retention", "after_hold": True})
            deleted += 1
    return deleted


# ---------------------------------------------------------------- export for the data subject


def account_export(*, account: Account, out) -> dict:
    """Write everything held about the account into the open binary file `out` as a ZIP:
    export.json (account, consent history, clips with their details, transcripts and holds, the
    account's ledger with reviewers as pseudonyms, deletion receipts) and audio/<clip>.wav (each
    clip's stored de-identified audio). Nothing of another person: no reviewer's name, no other
    account. Returns counts; the export is a ledger entry."""
    from consent.selectors import consent_history, ledger_for_account  # consent's reads, no cycle at import

    now = timezone.now()
    clips = list(Clip.objects.filter(account=account).order_by("created_at", "id"))
    transcripts: dict[uuid.UUID, list[dict]] = {}
    for clip_id, text, created in (Transcript.objects.filter(clip__account=account)
                                   .values_list("clip_id", "text", "created_at").order_by("created_at")):
        transcripts.setdefault(clip_id, []).append({"text": text, "submitted_at": created.isoformat()})
    holds: dict[uuid.UUID, list[dict]] = {}
    for clip_id, created, expires in (LegalHold.objects.filter(clip__account=account)
                                      .values_list("clip_id", "created_at", "expires_at")):
        holds.setdefault(clip_id, []).append({"placed_at": created.isoformat(), "ends_at": expires.isoformat()})
    iso = lambda value: value.isoformat() if value else None  # noqa: E731
    audio_files = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        clip_rows = []
        for clip in clips:
            audio_name = None
            if clip.wrapped_key is not None and clip.deid_path:
                try:
                    samples = vault.deid_samples(clip)
                except (vault.VaultError, FileNotFoundError):
                    samples = None
                if samples is not None:
                    audio_name = f"audio/{clip.id}.wav"
                    archive.writestr(audio_name, encode_wav(samples))
                    audio_files += 1
            clip_rows.append({
                "id": str(clip.id), "received_at": iso(clip.created_at), "recorded_at": iso(clip.recorded_at),
                "device_serial": clip.device_serial, "wake_word_score": clip.wake_word_score, "locale": clip.locale,
                "duration_seconds": clip.duration_seconds, "state": clip.status, "reason": clip.status_reason,
                "draft_transcript": clip.draft_transcript, "masked_spans": clip.masked_spans,
                "transcripts": transcripts.get(clip.id, []), "legal_holds": holds.get(clip.id, []),
                "audio": audio_name,
            })
        body = {
            "generated_at": now.isoformat(),
            "account": {"id": str(account.id), "external_id": account.external_id, "first_name": account.first_name,
                        "created_at": iso(account.created_at)},
            "consent": [{"version": r.version, "granted": r.granted, "policy_version": r.policy_version,
                         "channel": r.channel, "at": iso(r.created_at)}
                        for r in consent_history(account_id=account.id)],
            "clips": clip_rows,
            "ledger": [{"at": iso(line.at), "what": line.what, "purpose": line.purpose, "reviewer": line.reviewer,
                        "clip": str(line.clip) if line.clip else None, "until": line.until}
                       for line in ledger_for_account(account=account, limit=100_000)],
            "deletion_receipts": [{"id": str(r.id), "at": iso(r.created_at), "scope": r.scope, "items": r.items,
                                   "signature": r.signature} for r in account.deletion_receipts.order_by("created_at")],
        }
        archive.writestr("export.json", json.dumps(body, indent=2, ensure_ascii=False))
    counts = {"clips": len(clips), "audio_files": audio_files}
    ledger_append(action=LedgerEntry.Action.EXPORT, actor_id=account.user_id, account_id=account.id,
                  detail={"by": "owner", **counts})
    return counts


# ---------------------------------------------------------------- retention


def retention_run(*, batch: int = 500) -> dict[str, int]:
    """What the retention schedule keeps no longer, each purge a ledger entry:
    - held and discarded clips: their details (device, time, score, locale) at once; the state and
      its reason stay, so the owner and the supervisors still see why;
    - de-identified audio RETENTION_AUDIO_DAYS after labeling (and after an escalation was resolved
      without returning the clip to review);
    - transcripts RETENTION_TRANSCRIPT_DAYS after labeling, and with them the clip (a tombstone stays).
    A clip under a legal hold is left alone. Raw audio never reaches this: the pipeline destroys it
    as soon as the de-identified version is stored (or the clip is held or discarded)."""
    now = timezone.now()
    held = LegalHold.objects.in_force(now).values("clip_id")
    done = {"details": 0, "audio": 0, "transcripts": 0}
    with transaction.atomic():
        for clip in (Clip.objects.select_for_update(skip_locked=True)
                     .filter(status__in=[ClipStatus.HELD, ClipStatus.DISCARDED]).exclude(device_serial="")
                     .exclude(pk__in=held).only("id", "account_id")[:batch]):
            Clip.objects.filter(pk=clip.pk).update(device_serial="", recorded_at=None, wake_word_score=None,
                                                   locale="", last_error="", updated_at=now)
            _ledger_retention(clip, "details")
            done["details"] += 1

        audio_due = now - timedelta(days=settings.RETENTION_AUDIO_DAYS)
        open_escalations = Escalation.objects.filter(state__in=ESCALATION_UNRESOLVED).values("clip_id")
        recent_outcomes = Escalation.objects.filter(resolved_at__gt=audio_due).values("clip_id")
        for clip in (Clip.objects.select_for_update(skip_locked=True)
                     .filter(Q(status=ClipStatus.LABELED) | Q(status=ClipStatus.ESCALATED),
                             wrapped_key__isnull=False, updated_at__lte=audio_due)
                     .exclude(pk__in=held).exclude(pk__in=open_escalations).exclude(pk__in=recent_outcomes)
                     .only("id", "account_id", "deid_path", "raw_path")[:batch]):
            paths = [p for p in (clip.deid_path, clip.raw_path) if p]
            Clip.objects.filter(pk=clip.pk).update(wrapped_key=None, deid_path="", raw_path="", updated_at=now)
            transaction.on_commit(lambda paths=paths: [vault.delete_audio(p) for p in paths])
            _opinions_cancel(clip_id=clip.pk, now=now)  # nobody can hear it any more
            _ledger_retention(clip, "audio")
            done["audio"] += 1

        transcripts_due = now - timedelta(days=settings.RETENTION_TRANSCRIPT_DAYS)
        expired = Transcript.objects.filter(created_at__lte=transcripts_due).values("clip_id")
        for clip in (Clip.objects.select_for_update(skip_locked=True).filter(pk__in=expired)
                     .exclude(status=ClipStatus.DELETED).exclude(pk__in=held)[:batch]):
            _clip_shred(clip, reason="retention", now=now)
            _ledger_retention(clip, "transcripts")
            done["transcripts"] += 1
    return done


def _ledger_retention(clip: Clip, what: str) -> None:
    ledger_append(action=LedgerEntry.Action.DELETION, account_id=clip.account_id, clip_id=clip.id,
                  detail={"by": "retention", "what": what})
