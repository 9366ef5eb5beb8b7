"""Custody of clips: withdrawal after revocation, what a material change of the review policy takes
out of review, deletion and shredding (also after a legal hold ends), the owner's own data export,
tracing a leaked copy. Retention is custody.retention."""

from __future__ import annotations

import json
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from consent.models import Account, DeletionReceipt, LedgerEntry, PolicyVersion
from consent.services import ledger_append, policy_version_publish, receipt_signature
from core.errors import ApplicationError, NotFound
from labeling import vault
from labeling.exports.services import exports_expire
from labeling.models import (
    ESCALATION_UNRESOLVED,
    LIVE_STATES,
    STORAGE_HOLD,
    SUPERVISOR_PURPOSES,
    Assignment,
    AssignmentState,
    Clip,
    ClipStatus,
    Escalation,
    EscalationState,
    ExportJob,
    GoldClip,
    LegalHold,
    SecondOpinion,
    Transcript,
)
from labeling.review.services import close_and_requeue, opinions_cancel
from redaction import watermark
from redaction.audio import AudioError, decode, encode_wav, to_target_rate

# A leak is read against the clips whose loudness contour it matches this well (0..1), best first;
# an assignment is named by redaction.watermark.identify.
TRACE_MIN_LIKENESS = 0.5


TRACE_CANDIDATES = 3


def withdraw_clips(clips, *, reason: str) -> list[uuid.UUID]:
    """Take clips out of review and destroy their audio and keys, but for clips under a legal hold,
    which keep theirs. Returns the ids taken out. Caller holds a transaction or not."""
    now = timezone.now()
    with transaction.atomic():
        # Clip rows first: a claim that locked one of them finishes before we see it, and we then
        # see its assignment below.
        # An escalated clip goes too. A clip under a legal hold, whatever its state, keeps its key
        # and audio: it leaves review (the servability rule refuses it to everyone) and is deleted
        # when the hold ends, if its owner asks or retention comes.
        held = LegalHold.objects.in_force(now).values("clip_id")
        frozen = list(clips.filter(status__in=LIVE_STATES, pk__in=held).select_for_update()
                      .values_list("id", flat=True))
        if frozen:
            Clip.objects.filter(pk__in=frozen).update(status=ClipStatus.WITHDRAWN, status_reason=reason,
                                                     queued_at=None, updated_at=now)
            Assignment.objects.filter(clip_id__in=frozen, state=AssignmentState.OPEN).update(
                state=AssignmentState.REVOKED, closed_at=now)
            opinions_cancel(clip_id__in=frozen, now=now)
        rows = list(clips.filter(Q(status__in=LIVE_STATES) | Q(status=ClipStatus.ESCALATED)
                                 | Q(status=ClipStatus.HELD, status_reason__startswith=STORAGE_HOLD))
                    .exclude(pk__in=held).select_for_update().values_list("id", "raw_path", "deid_path"))
        ids = [row[0] for row in rows]
        exports_expire(ExportJob.objects.filter(items__clip_id__in=[*ids, *frozen]),
                       reason="A clip in it was withdrawn; request a new export.")
        if not ids:
            return frozen
        Clip.objects.filter(pk__in=ids).update(
            status=ClipStatus.WITHDRAWN,
            status_reason=reason,
            wrapped_key=None,
            raw_path="",
            deid_path="",
            envelope=None,
            queued_at=None,
            updated_at=now,
        )
        Assignment.objects.filter(clip_id__in=ids, state=AssignmentState.OPEN).update(
            state=AssignmentState.REVOKED, closed_at=now
        )
        opinions_cancel(clip_id__in=ids, now=now)
        Escalation.objects.filter(clip_id__in=ids, state__in=ESCALATION_UNRESOLVED).update(
            state=EscalationState.WITHDRAWN)
        paths = [p for _, raw, deid in rows for p in (raw, deid) if p]
        vault.delete_blobs_on_commit(*paths)
    return ids + frozen


def clips_withdraw_for_account(*, account_id: uuid.UUID) -> int:
    """Consent was revoked: no clip of this account stays in review, and their audio is shredded.
    Questions about their clips that were already transcribed are cancelled too. With
    REVOCATION_DELETES (the default) every clip of the account is then deleted (clips_delete), its
    transcripts included, and a receipt is kept."""
    withdrawn = withdraw_clips(Clip.objects.filter(account_id=account_id), reason="consent_revoked")
    # Exports holding any of the account's clips lose their keys, whatever became of the clips.
    exports_expire(ExportJob.objects.filter(items__clip__account_id=account_id),
                   reason="A clip's owner withdrew consent; request a new export.")
    if settings.REVOCATION_DELETES:
        clips_delete(account=Account.objects.get(pk=account_id), reason="consent_revoked", by="revocation")
    now = timezone.now()
    opinions_cancel(clip__account_id=account_id, now=now)
    # Gold clips and second transcriptions of clips already labeled: nobody hears them any more.
    Assignment.objects.filter(account_id=account_id, state=AssignmentState.OPEN).update(
        state=AssignmentState.REVOKED, closed_at=now)
    GoldClip.objects.filter(clip__account_id=account_id).delete()
    return len(withdrawn)


def policy_publish(*, policy_id: int) -> PolicyVersion:
    """Publish a draft version of the review policy (the admin's Publish). After a material change
    no consent given until now counts for human review (nobody could agree to a text before it was
    published) until its owner confirms the new text: with the publication, every open assignment
    closes, and a clip being transcribed goes back to its place in the queue, where the servability
    rule keeps it until its owner confirms. Nothing is deleted: the owner's clips keep their audio."""
    with transaction.atomic():
        policy = policy_version_publish(policy_id=policy_id)
        if policy.material:
            now = timezone.now()
            lent = Assignment.objects.filter(state=AssignmentState.OPEN)
            # Clip rows first, in the order the claim and withdrawal take them.
            list(Clip.objects.select_for_update().filter(pk__in=lent.values("clip_id")).values_list("id", flat=True))
            close_and_requeue(list(lent.select_for_update().values_list("id", flat=True)),
                              AssignmentState.POLICY_CHANGED, now)
    return policy


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
    served_clips = (Clip.objects.filter(assignments__audio_sent__gt=0, wrapped_key__isnull=False).distinct()
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
                       for a in Assignment.objects.filter(clip=clip, audio_sent__gt=0).select_related("annotator")}
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


def legal_hold_active(*, clip_id: uuid.UUID, now: datetime) -> LegalHold | None:
    return LegalHold.objects.in_force(now).filter(clip_id=clip_id).order_by("-expires_at").first()


# What a legal hold's reason, an outcome's reason and a referral's recipient read once the clip is
# shredded (none may be empty).
SHREDDED_TEXT = "(removed with the clip)"


def clip_shred(clip: Clip, *, reason: str, now: datetime) -> None:
    """Delete a clip (clips_shred). Caller holds the clip's row lock."""
    clips_shred([clip.pk], reason=reason, now=now)


def clips_shred(clip_ids: list[uuid.UUID], *, reason: str, now: datetime) -> None:
    """Delete clips: their data keys (so any copy anywhere is unreadable), audio files, drafts,
    metadata, transcripts, and every free text about them (second opinions, flags, escalation
    reasons and referrals, legal hold reasons) go; each row stays as a tombstone (id, time, reason),
    escalations and holds keep their outcome codes and times. The same statements whatever the
    number of clips. Caller holds the clips' row locks."""
    paths = [p for raw, deid in Clip.objects.filter(pk__in=clip_ids).values_list("raw_path", "deid_path")
             for p in (raw, deid) if p]
    Clip.objects.filter(pk__in=clip_ids).update(
        status=ClipStatus.DELETED, status_reason=reason, wrapped_key=None, raw_path="", deid_path="", envelope=None,
        draft_transcript="", masked_spans=[], queued_at=None, updated_at=now, device_serial="", recorded_at=None,
        wake_word_score=None, locale="", audio_format="", input_seconds=None, duration_seconds=None,
        trimmed_seconds=None, last_error="", flag_category="", deletion_requested_at=None)
    Assignment.objects.filter(clip_id__in=clip_ids, state=AssignmentState.OPEN).update(
        state=AssignmentState.REVOKED, closed_at=now)
    Assignment.objects.filter(clip_id__in=clip_ids, draft__isnull=False).update(draft=None)
    Transcript.objects.filter(clip_id__in=clip_ids).delete()
    GoldClip.objects.filter(clip_id__in=clip_ids).delete()
    exports_expire(ExportJob.objects.filter(items__clip_id__in=clip_ids).distinct(),
                   reason="A clip in it was deleted; request a new export.")
    opinions_cancel(clip_id__in=clip_ids, now=now)
    SecondOpinion.objects.filter(clip_id__in=clip_ids).update(first_text="", answer_text="", adjudicated_text="")
    Escalation.objects.filter(clip_id__in=clip_ids, state__in=ESCALATION_UNRESOLVED).update(
        state=EscalationState.WITHDRAWN)
    # Every free text written about the clip goes with it; outcome codes and times stay.
    # A recorded outcome keeps a reason, and a referral a recipient: both read SHREDDED_TEXT.
    Escalation.objects.filter(clip_id__in=clip_ids).update(
        annotator_text="", note="", reason=Case(When(reason="", then=Value("")), default=Value(SHREDDED_TEXT)),
        referred_to=Case(When(referred_to="", then=Value("")), default=Value(SHREDDED_TEXT)))
    LegalHold.objects.filter(clip_id__in=clip_ids).update(reason=SHREDDED_TEXT)
    vault.delete_blobs_on_commit(*paths)


def clips_delete(*, account: Account, clip_id: uuid.UUID | None = None, reason: str = "deleted_by_owner",
                 by: str = "owner") -> DeletionReceipt:
    """The owner deletes one clip (clip_id) or all of them. Each clip is shredded at once
    (clip_shred), unless a legal hold is in force: then it leaves review now, keeps its audio, and
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
                clip_shred(clip, reason=reason, now=now)
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
    opinions_cancel(clip=clip, now=now)


def clips_delete_after_holds(*, batch: int = 200) -> int:
    """Delete clips whose owner asked for it while a legal hold was in force, once no hold is.
    Returns how many."""
    now = timezone.now()
    held = LegalHold.objects.in_force(now).values("clip_id")
    deleted = 0
    with transaction.atomic():
        for clip in (Clip.objects.select_for_update(skip_locked=True)
                     .filter(deletion_requested_at__isnull=False).exclude(pk__in=held)[:batch]):
            clip_shred(clip, reason="deleted_by_owner_after_hold", now=now)
            ledger_append(action=LedgerEntry.Action.DELETION, account_id=clip.account_id, clip_id=clip.id,
                          detail={"by": "retention", "after_hold": True})
            deleted += 1
    return deleted


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
