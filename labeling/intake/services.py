"""Intake: ingest keys, the consent-gated ingest, the pipeline's orchestration (decode to encrypt,
fail closed), holds, the release of clips held for storage, and the reconcilers."""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from consent.models import LedgerEntry
from consent.selectors import account_by_external_id, consent_is_active
from consent.services import ledger_append
from core.enqueue import enqueue_after_commit
from core.errors import ApplicationError, Conflict, NotFound, TooLarge, Unavailable
from labeling import vault
from labeling.custody.services import withdraw_clips
from labeling.models import (
    QUOTA_FREE_STATES,
    STORAGE_HOLD,
    Clip,
    ClipStatus,
    IngestKey,
    Project,
    recognizes_language,
)
from redaction.audio import AudioError, encode_wav, probe
from redaction.pipeline import DeidFailed, DeidParams, deidentify
from redaction.voice import draw_disguise

logger = logging.getLogger(__name__)


DEFAULT_OVERLAP_HOURS = 24
MAX_OVERLAP_HOURS = 168  # a week: long enough to roll a fleet over, short enough that a leaked key dies


def _ingest_key_new(*, name: str, actor: AbstractBaseUser | None, replaces: IngestKey | None = None) -> tuple[
        IngestKey, str]:
    prefix = secrets.token_hex(6)
    raw = f"vr_{prefix}_{secrets.token_urlsafe(32)}"
    key = IngestKey.objects.create(name=name, prefix=prefix, key_hash=hashlib.sha256(raw.encode()).hexdigest(),
                                   created_by=actor, replaces=replaces)
    return key, raw


def _ingest_key_entry(*, event: str, key: IngestKey, actor: AbstractBaseUser | None, **detail) -> None:
    """The ledger entry of one change to a key: its id and prefix, never its secret."""
    ledger_append(action=LedgerEntry.Action.INGEST_KEY, actor_id=actor.pk if actor else None,
                  detail={"event": event, "key": key.pk, "prefix": key.prefix, **detail})


def ingest_key_create(*, name: str, actor: AbstractBaseUser | None = None) -> tuple[IngestKey, str]:
    """A new key for a device platform; the returned secret is shown once and never stored.
    `actor`: the supervisor who asked; None for a command run by the system."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ApplicationError("invalid_name", "Name the device platform the key is for, in 1 to 100 characters.",
                               fields={"name": ["Give 1 to 100 characters."]})
    with transaction.atomic():
        key, raw = _ingest_key_new(name=name, actor=actor)
        _ingest_key_entry(event="created", key=key, actor=actor)
    return key, raw


def _ingest_key_locked(key_id: int) -> IngestKey:
    key = None
    if 0 < key_id < 2**63:  # beyond a database integer no key can exist
        key = IngestKey.objects.select_for_update().filter(pk=key_id).first()
    if key is None:
        raise NotFound("ingest_key_not_found", "There is no ingest key with this id.")
    return key


def ingest_key_rotate(*, key_id: int, actor: AbstractBaseUser | None = None,
                      overlap_hours: int = DEFAULT_OVERLAP_HOURS) -> tuple[IngestKey, str]:
    """A new key for the same platform; the old one keeps working `overlap_hours` more, then stops,
    so devices can be moved over without a gap. The new secret is returned once. A key is replaced
    at most once (the database's unique `replaces` says so too): rotate its replacement instead."""
    if isinstance(overlap_hours, bool) or not isinstance(overlap_hours, int) or not (
            0 <= overlap_hours <= MAX_OVERLAP_HOURS):
        raise ApplicationError("invalid_overlap", f"The overlap is 0 to {MAX_OVERLAP_HOURS} hours.",
                               fields={"overlap_hours": [f"Give a whole number from 0 to {MAX_OVERLAP_HOURS}."]})
    now = timezone.now()
    with transaction.atomic():
        old = _ingest_key_locked(key_id)
        if IngestKey.objects.filter(replaces=old).exists():
            raise Conflict("ingest_key_replaced", "This key was already replaced; rotate the key that replaced it.")
        if not old.is_active(now):
            raise Conflict("ingest_key_inactive", "A revoked or expired key cannot be rotated; create a new one.")
        try:
            with transaction.atomic():
                new, raw = _ingest_key_new(name=old.name, actor=actor, replaces=old)
        except IntegrityError:  # the same key rotated at the same moment elsewhere (SQLite locks no row)
            raise Conflict("ingest_key_replaced",
                           "This key was already replaced; rotate the key that replaced it.") from None
        old.expires_at = now + timedelta(hours=overlap_hours)
        old.save(update_fields=["expires_at"])
        _ingest_key_entry(event="rotated", key=old, actor=actor, new_key=new.pk, new_prefix=new.prefix,
                          overlap_hours=overlap_hours, old_key_expires_at=old.expires_at.isoformat())
    return new, raw


def ingest_key_revoke(*, key_id: int, actor: AbstractBaseUser | None = None) -> IngestKey:
    """The key stops working at once. Revoking a revoked key changes nothing and records nothing."""
    now = timezone.now()
    with transaction.atomic():
        key = _ingest_key_locked(key_id)
        if IngestKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now):
            key.revoked_at = now
            _ingest_key_entry(event="revoked", key=key, actor=actor)
    return key


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
        vault.delete_blobs_now(vault.blob_path(clip_id, "raw"))  # what a failed write may have left
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
        vault.delete_blobs_now(path)
        return IngestOutcome(None, "not_retained", "no_review_consent")
    except BaseException:
        vault.delete_blobs_now(path)
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
        withdraw_clips(Clip.objects.filter(pk=clip.id), reason="consent_revoked")
        return ClipStatus.WITHDRAWN

    try:
        key = vault.unwrap_data_key(clip.id, clip.wrapped_key)
        raw = vault.load_audio(clip.id, key, "raw", clip.raw_path)
    except vault.VaultError as exc:
        return clip_hold(clip_id=clip.id, reason="raw_audio_unreadable", error=str(exc))
    except OSError as exc:
        if exc.errno in vault.STORAGE_UNAVAILABLE_ERRNOS:  # storage is down: wait for it, lose nothing
            return _hold_for_storage(clip.id, exc)
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
            gone = vault.blobs_list_for_deletion(clip.raw_path)
        vault.blobs_delete_pending(gone)
        return ClipStatus.DISCARDED if done else "skipped"

    try:
        wav = encode_wav(result.audio)
        deid_path = vault.store_audio(clip.id, key, "deid", wav)
        envelope = vault.seal_envelope(clip.id, key, wav)
    except OSError as exc:
        vault.delete_blobs_now(vault.blob_path(clip.id, "deid"))  # what a failed write may have left
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
            envelope=envelope,
            raw_path="",
            input_seconds=result.input_seconds,
            duration_seconds=len(result.audio) / 16_000,
            trimmed_seconds=result.trimmed_seconds,
            draft_transcript=clip.draft_transcript or result.draft,  # an imported draft wins
            masked_spans=[{"kind": s.kind, "start": s.start, "end": s.end} for s in result.spans],
            queued_at=now,
            updated_at=now,
        )
        # Raw audio never outlives its de-identified version; a clip withdrawn or deleted while we
        # worked keeps nothing.
        gone = vault.blobs_list_for_deletion(clip.raw_path, "" if done else deid_path)
    vault.blobs_delete_pending(gone)
    if not done:
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
        gone = vault.blobs_list_for_deletion(clip.raw_path) if held else []
    if held:
        vault.blobs_delete_pending(gone)
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
