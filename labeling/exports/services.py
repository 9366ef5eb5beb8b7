"""Training exports of a project: one ZIP of settled, de-identified clips in the formats asked for,
written by a Celery task, encrypted with the export's own data key as it is written, downloaded by
the project's supervisors. The key (and the file) go after EXPORT_KEEP_DAYS, or at once when a clip
in it is deleted or withdrawn, or its owner revokes consent."""

from __future__ import annotations

import hashlib
import hmac
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from consent.models import LedgerEntry
from consent.services import ledger_append, ledger_append_many
from core.enqueue import enqueue_after_commit
from core.errors import ApplicationError, Conflict, Gone
from labeling import servability, vault
from labeling.exports import formats as export_formats
from labeling.exports.selectors import export_for
from labeling.models import (
    OPINION_WAITING,
    Clip,
    ClipStatus,
    ExportFormat,
    ExportItem,
    ExportJob,
    ExportState,
    GoldClip,
    OpinionKind,
    SecondOpinion,
    SecondOpinionState,
    Transcript,
)
from labeling.selectors import supervised_project
from redaction import pii
from redaction.audio import encode_wav, resample

EXPORT_PROGRESS_EVERY = 25
# Ledger entries written by one statement when a download is recorded clip by clip.
LEDGER_BATCH = 500


# A running export whose worker vanished is taken up again after this long.
EXPORT_STALE_AFTER = timedelta(hours=3)


def export_request(*, project_slug: str, supervisor: AbstractBaseUser, formats: list[str]) -> ExportJob:
    """Queue an export of the project's settled transcripts for a worker; the page follows its progress."""
    project = supervised_project(supervisor=supervisor, slug=project_slug)
    chosen = list(dict.fromkeys(formats)) or list(ExportFormat.values)
    unknown = [f for f in chosen if f not in ExportFormat.values]
    if unknown:
        raise ApplicationError("unknown_format", f"Formats are {', '.join(ExportFormat.values)}; not "
                               f"{', '.join(map(str, unknown))}.", fields={"formats": ["Unknown format."]})
    with transaction.atomic():
        job = ExportJob.objects.create(project=project, requested_by=supervisor, formats=chosen)
        _enqueue_export(job.id)
    return job


def _enqueue_export(export_id: uuid.UUID) -> None:
    enqueue_after_commit("workers.tasks.export_build_task", str(export_id))


def exports_reconcile(*, older_than: timedelta = timedelta(minutes=5)) -> int:
    """Exports still queued after a while lost their message: enqueue them again."""
    stuck = list(ExportJob.objects.filter(state=ExportState.QUEUED, created_at__lt=timezone.now() - older_than)
                 .values_list("id", flat=True)[:50])
    for export_id in stuck:
        _enqueue_export(export_id)
    return len(stuck)


def export_blob(export_id: uuid.UUID) -> str:
    """Where an export's encrypted file is stored."""
    return f"exports/{export_id}.sealed"


def _sealed_as(export_id: uuid.UUID) -> bytes:
    return b"export:" + export_id.bytes


def _settled_reading(clip: Clip) -> tuple[str, Transcript | None, str] | None:
    """(text, transcript, source) of a labeled clip as it should train a model, or None while a
    second reading or an adjudication is still to come. A gold reference wins, then an
    adjudicated reading of a blind double transcription, then the annotator's transcript."""
    transcript = Transcript.objects.filter(clip=clip).order_by("-created_at").first()
    gold = GoldClip.objects.filter(clip=clip).only("reference_text").first()
    if gold is not None:
        return gold.reference_text, transcript, "gold"
    sample = SecondOpinion.objects.filter(clip=clip, kind=OpinionKind.AGREEMENT).order_by("-created_at").first()
    if sample is not None and sample.state in (*OPINION_WAITING, SecondOpinionState.ADJUDICATION):
        return None
    if sample is not None and sample.state == SecondOpinionState.ADJUDICATED:
        return sample.adjudicated_text, transcript, "adjudicated"
    if transcript is None:
        return None
    return transcript.text, transcript, "transcription"


def _export_entry(job: ExportJob, clip: Clip, text: str, transcript: Transcript | None, source: str,
                  duration: float) -> export_formats.Entry:
    # Labels belong to the words they were given with; another reading keeps the intent and flags only.
    same = transcript is not None and transcript.text == text
    opaque = hmac.new(settings.SECRET_KEY.encode(), f"export:{job.id}:{clip.id}".encode(),
                      hashlib.sha256).hexdigest()[:20]
    return export_formats.Entry(
        id=opaque, duration=round(duration, 3), text=text, intent=transcript.intent if transcript else "",
        entities=list(transcript.entities) if same else [], flags=list(transcript.flags) if transcript else [],
        language=job.project.locale.split("-")[0], source=source)


def export_build(*, export_id: uuid.UUID) -> str:
    """Write the export: every labeled clip of the project whose owner's consent holds now, with a
    settled reading whose text shows no personal data; audio de-identified as stored, at the
    project's sample rate. The ZIP is encrypted record by record as it is written (it is never on
    disk in the clear) with a data key of its own. Each exported clip is a ledger entry. Safe to
    run twice: only a queued (or abandoned) job is taken up, with a new key."""
    now = timezone.now()
    export_id = uuid.UUID(str(export_id))
    key, wrapped = vault.new_data_key(export_id, bound_to=vault.EXPORT_KEY)
    taken = ExportJob.objects.filter(pk=export_id).filter(
        Q(state=ExportState.QUEUED) | Q(state=ExportState.RUNNING, started_at__lt=now - EXPORT_STALE_AFTER)
    ).update(state=ExportState.RUNNING, started_at=now, done=0, exported=0, left_out={}, error="",
             wrapped_key=wrapped)
    if not taken:
        return ExportJob.objects.filter(pk=export_id).values_list("state", flat=True).first() or "gone"
    job = ExportJob.objects.select_related("project").get(pk=export_id)
    name = export_blob(job.id)
    ExportItem.objects.filter(export=job).delete()
    clip_ids = list(Clip.objects.filter(project=job.project, status=ClipStatus.LABELED, wrapped_key__isnull=False)
                    .order_by("queued_at", "id").values_list("id", flat=True))
    ExportJob.objects.filter(pk=job.pk).update(total=len(clip_ids))
    left_out: dict[str, int] = {}
    try:
        # Only ciphertext touches the disk, and only until it is in storage.
        with tempfile.TemporaryFile() as sink:
            sealed = vault.SealedWriter(sink, key, _sealed_as(job.id))
            exported = _write_archive(job, clip_ids, sealed, left_out)
            sealed.close()
            size = sink.tell()
            vault.put_blob(name, File(sink, name=name))
    except Exception as exc:
        vault.delete_blobs_on_commit(name)
        ExportJob.objects.filter(pk=job.pk).update(state=ExportState.FAILED, error=f"{type(exc).__name__}: {exc}"[:500],
                                                   finished_at=timezone.now(), wrapped_key=None)
        raise
    finished = ExportJob.objects.filter(pk=job.pk, state=ExportState.RUNNING).update(
        state=ExportState.DONE, done=len(clip_ids), exported=exported, left_out=left_out, path=name,
        size_bytes=size, finished_at=timezone.now())
    if not finished:  # a clip in it was deleted while it was written: its key is already gone
        vault.delete_blobs_on_commit(name)
        return ExportState.EXPIRED
    return ExportState.DONE


def _write_archive(job: ExportJob, clip_ids: list[uuid.UUID], sink: vault.SealedWriter,
                   left_out: dict[str, int]) -> int:
    """Write the ZIP's members into `sink` (which cannot seek: members carry data descriptors);
    returns how many clips went in, and counts the others in `left_out` by reason."""
    exported = 0
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        lines = {name: [] for name in ("data.jsonl", "manifest.json", "metadata.jsonl")}
        for done, clip_id in enumerate(clip_ids, 1):
            reason = _export_clip(job, clip_id, archive, lines)
            if reason:
                left_out[reason] = left_out.get(reason, 0) + 1
            else:
                exported += 1
            if done % EXPORT_PROGRESS_EVERY == 0:
                ExportJob.objects.filter(pk=job.pk).update(done=done, exported=exported, left_out=left_out)
        wanted = {"data.jsonl": ExportFormat.JSONL, "manifest.json": ExportFormat.NEMO,
                  "metadata.jsonl": ExportFormat.HF}
        for name, body in lines.items():
            if wanted[name] in job.formats:
                archive.writestr(name, "".join(body))
        archive.writestr("README.txt", export_formats.README.format(
            project=job.project.name, created=f"{job.created_at:%Y-%m-%d %H:%M} UTC", rate=job.project.sample_rate,
            exported=exported, left_out=", ".join(f"{n} {r.replace('_', ' ')}" for r, n in left_out.items())
            or "none"))
    return exported


def _export_clip(job: ExportJob, clip_id: uuid.UUID, archive: zipfile.ZipFile, lines: dict[str, list[str]]) -> str:
    """Add one clip to the archive; returns why it was left out, or "" when it went in."""
    with transaction.atomic():
        # The clip's row lock keeps a deletion from passing between the checks and the ledger entry.
        clip = Clip.objects.select_for_update().filter(pk=clip_id, status=ClipStatus.LABELED,
                                                       wrapped_key__isnull=False).first()
        if clip is None:
            return "deleted_or_withdrawn"
        refused = servability.refusal(clip, servability.EXPORT, now=timezone.now())
        if refused is not None:
            return EXPORT_LEFT_OUT.get(refused, "deleted_or_withdrawn")
        reading = _settled_reading(clip)
        if reading is None:
            return "awaiting_second_reading"
        text, transcript, source = reading
        try:
            if pii.find_in_text(text):
                return "personal_data_in_text"
        except pii.PiiError as exc:
            raise RuntimeError(f"the personal-data check could not run: {exc}") from exc
        try:
            samples = vault.deid_samples(clip)
        except (vault.VaultError, FileNotFoundError):
            return "audio_gone"
        rate = job.project.sample_rate
        samples = resample(samples, 16_000, rate)
        entry = _export_entry(job, clip, text, transcript, source, len(samples) / rate)
        if job.formats != [ExportFormat.WEBVTT]:
            archive.writestr(zipfile.ZipInfo(entry.audio, date_time=(2000, 1, 1, 0, 0, 0)), encode_wav(samples, rate),
                             compress_type=zipfile.ZIP_STORED)
        lines["data.jsonl"].append(export_formats.jsonl_line(entry))
        lines["manifest.json"].append(export_formats.nemo_line(entry))
        lines["metadata.jsonl"].append(export_formats.hf_line(entry))
        if ExportFormat.WEBVTT in job.formats:
            archive.writestr(f"vtt/{entry.id}.vtt", export_formats.webvtt(entry))
        ExportItem.objects.create(export=job, clip=clip)
        ledger_append(action=LedgerEntry.Action.EXPORT, actor_id=job.requested_by_id, account_id=clip.account_id,
                      clip_id=clip.id, detail={"by": "project_export", "purpose": "training_export",
                                               "export": str(job.id), "project": job.project.slug})
    return ""


# Why a clip was left out of an export, by the servability rule's reason.
EXPORT_LEFT_OUT = {"consent": "consent_withdrawn", "legal_hold": "legal_hold",
                   "deletion_requested": "deletion_requested", "policy": "policy_unconfirmed"}


def export_fail(*, export_id: uuid.UUID, error: str) -> str:
    ExportJob.objects.filter(pk=export_id, state=ExportState.RUNNING).update(
        state=ExportState.FAILED, error=error, finished_at=timezone.now(), wrapped_key=None)
    vault.delete_blobs_on_commit(export_blob(export_id))
    return ExportState.FAILED


def export_download(*, export_id: uuid.UUID, supervisor: AbstractBaseUser) -> tuple[ExportJob, Iterator[bytes]]:
    """A finished export's ZIP, decrypted as it is sent, to a supervisor of its project. Every clip
    in it must still pass the servability rule now (consent, deletion, holds, audio kept): if one
    does not, the export's key and file go and the download is refused. Each clip in a download is
    an entry in its owner's ledger naming the downloader."""
    job = export_for(supervisor=supervisor, export_id=export_id)
    if job.state != ExportState.DONE:
        raise Conflict("export_not_ready", f"This export is {job.state}." + (
            f" {job.error}" if job.error else ""))
    clips = Clip.objects.filter(export_items__export=job)
    if servability.refusals(clips, servability.EXPORT, now=timezone.now()):
        # A clip in it may no longer be taken out (consent, a deletion request, a hold): the file goes.
        with transaction.atomic():
            exports_expire(ExportJob.objects.filter(pk=job.pk), reason="A clip in it may no longer be taken out; "
                           "request a new export.")
        raise Gone("export_gone", "A clip in this export may no longer be taken out (its owner withdrew "
                   "or asked for deletion, or a legal hold keeps it); request a new export.")
    with transaction.atomic():
        # The job's row lock orders this download against a deletion that would expire the export:
        # either the deletion waits for these ledger entries, or the download sees the key gone.
        job = ExportJob.objects.select_for_update().select_related("project").get(pk=job.pk)
        if job.state != ExportState.DONE or job.wrapped_key is None:
            raise Gone("export_gone", "The export's file is gone; request a new export.")
        key = vault.unwrap_data_key(job.id, job.wrapped_key, bound_to=vault.EXPORT_KEY)
        try:
            handle = vault.open_blob(export_blob(job.id))
        except FileNotFoundError:
            raise Gone("export_gone", "The export's file is gone; request a new export.") from None
        taken_out = [{"account_id": account_id, "clip_id": clip_id,
                      "detail": {"by": "project_export", "purpose": "training_export_download", "export": str(job.id)}}
                     for clip_id, account_id in clips.values_list("id", "account_id")]
        for start in range(0, len(taken_out), LEDGER_BATCH):
            ledger_append_many(action=LedgerEntry.Action.EXPORT, actor_id=supervisor.pk,
                               entries=taken_out[start:start + LEDGER_BATCH])
        ledger_append(action=LedgerEntry.Action.EXPORT, actor_id=supervisor.pk,
                      detail={"by": "project_export", "export": str(job.id), "download": True, "clips": job.exported})
    return job, _decrypted(handle, key, job.id)


def _decrypted(handle, key: bytes, export_id: uuid.UUID) -> Iterator[bytes]:
    with handle:
        yield from vault.open_sealed(handle, key, _sealed_as(export_id))


def exports_expire(jobs, *, reason: str) -> int:
    """Destroy the keys of exports still on the server and remove their files; each job says why."""
    ids = list(jobs.exclude(state__in=[ExportState.EXPIRED, ExportState.FAILED]).values_list("id", flat=True))
    ExportJob.objects.filter(pk__in=ids).update(state=ExportState.EXPIRED, error=reason, wrapped_key=None)
    vault.delete_blobs_on_commit(*[export_blob(export_id) for export_id in ids])
    return len(ids)


def exports_expire_old() -> int:
    due = timezone.now() - timedelta(days=settings.EXPORT_KEEP_DAYS)
    return exports_expire(ExportJob.objects.filter(state=ExportState.DONE, finished_at__lt=due),
                          reason=f"Removed after {settings.EXPORT_KEEP_DAYS} days.")
