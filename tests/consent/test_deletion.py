"""Deletion by the data subject: every copy goes, a tombstone and a signed receipt stay; a legal
hold defers it; nobody deletes another's recordings."""

import io
import json
from datetime import timedelta

import pytest
import redis
import soundfile as sf
from django.conf import settings
from django.utils import timezone

from consent.models import DeletionReceipt, LedgerEntry
from consent.services import receipt_signature
from labeling.custody.services import clips_delete_after_holds
from labeling.exports.services import export_build
from labeling.intake.services import clip_process
from labeling.models import Clip, ClipStatus, ExportItem, ExportJob, LegalHold
from tests.factories import (
    AUDIO,
    claim,
    client_for,
    every_value_in_the_database,
    fetch_audio,
    make_subject,
    metadata,
    queued_clip,
    upload,
)

pytestmark = pytest.mark.django_db

TRANSCRIPT = "remind me to water the quince tree on thursday"
NOTE = "she sounds frightened of someone called ottoline"
TYPED = "call the locksmith on elderflower lane"  # saved by the editor, never submitted


def every_value_in_redis():
    if not settings.REDIS_URL:
        return []
    client = redis.Redis.from_url(settings.REDIS_URL)
    values = []
    for key in client.scan_iter():
        kind = client.type(key)
        if kind == b"string":
            values.append(client.get(key))
        elif kind == b"list":
            values.extend(client.lrange(key, 0, -1))
        elif kind == b"hash":
            values.extend(client.hvals(key))
        elif kind in (b"set", b"zset"):
            values.extend(client.smembers(key) if kind == b"set" else client.zrange(key, 0, -1))
        values.append(key)
    return values


@pytest.fixture
def lived(annotator, other_annotator, supervisor, device_client, django_capture_on_commit_callbacks):
    """A clip that went through ingest (its task queued on the broker), the real pipeline, a
    stream, a second opinion and a transcript; and a clip that was flagged with a note."""
    subject = make_subject()
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(device_client, (AUDIO / "pii_name_number.wav").read_bytes(), metadata())
    clip = Clip.objects.get(pk=response.json()["id"])
    assert clip_process(clip_id=clip.id) == ClipStatus.QUEUED
    clip.refresh_from_db()
    draft = clip.draft_transcript
    assert draft
    client = client_for(annotator)
    assignment = claim(client)
    heard = fetch_audio(client, assignment).content
    pcm = (sf.read(io.BytesIO(heard), dtype="int16")[0]).tobytes()
    assert client.get(f"/api/v1/assignments/{assignment['id']}/peaks?bins=200",
                      HTTP_X_AUDIO_TOKEN=assignment["audio_token"]).status_code == 200
    client.post(f"/api/v1/assignments/{assignment['id']}/second-opinion",
                {"start_seconds": 0.0, "end_seconds": 1.0, "text": "remind me"}, format="json")
    assert client.post(f"/api/v1/assignments/{assignment['id']}/submit", {"text": TRANSCRIPT},
                       format="json").status_code == 200
    export = client_for(supervisor).post("/api/v1/projects/default/exports", {}, format="json").json()
    assert export_build(export_id=export["id"]) == "done"
    assert ExportItem.objects.filter(export_id=export["id"], clip=clip).exists()

    flagged = queued_clip(subject)
    other = client_for(other_annotator)
    answering = claim(other)  # the second opinion comes first
    assert answering["purpose"] == "second_opinion"
    other.post(f"/api/v1/assignments/{answering['id']}/submit", {"text": "remind me please"}, format="json")
    other_assignment = claim(other)
    assert other.put(f"/api/v1/assignments/{other_assignment['id']}/draft", {"text": TYPED},
                     format="json").status_code == 200
    other.post(f"/api/v1/assignments/{other_assignment['id']}/escalate",
               {"category": "danger", "note": NOTE, "text": "help"}, format="json")
    assert Clip.objects.get(pk=flagged.pk).status == ClipStatus.ESCALATED
    return subject, [clip, flagged], {"draft": draft, "pcm_chunk": pcm[len(pcm) // 2: len(pcm) // 2 + 64]}


def test_deleting_everything_leaves_only_tombstones_and_a_signed_receipt(lived, store,
                                                                        django_capture_on_commit_callbacks):
    subject, clips, traces = lived
    assert any("exports" in str(path) for path in store.files())
    assert LedgerEntry.objects.filter(action="envelope_read", clip_id=clips[0].id).exists()
    # The scans see what is there: the texts before deletion, the queued task on the broker.
    texts = [value for _, value in every_value_in_the_database() if isinstance(value, str)]
    assert all(any(text in value for value in texts) for text in (TRANSCRIPT, NOTE, TYPED, "Marguerite",
                                                                      traces["draft"]))
    if settings.REDIS_URL:
        assert any(str(clips[0].id).encode() in value for value in every_value_in_redis())
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(subject.user, verified=False).delete("/api/v1/me/clips")
    assert response.status_code == 200
    receipt = response.json()
    assert sorted(item["clip"] for item in receipt["items"]) == sorted(str(c.id) for c in clips)
    assert {item["status"] for item in receipt["items"]} == {"deleted"}
    assert "Deleted 2 recordings" in receipt["message"]
    stored = DeletionReceipt.objects.get(pk=receipt["id"])
    assert stored.signature == receipt["signature"] == receipt_signature(stored)

    # Nothing of the clips is left anywhere: no file, no audio, no text, no identifier, no export key.
    assert store.files() == []
    assert list(ExportJob.objects.values_list("state", "wrapped_key")) == [("expired", None)]
    forbidden_text = [TRANSCRIPT, NOTE, TYPED, "remind me", "remind me please", traces["draft"], "Marguerite",
                      "SN-Q9X4-77821"]
    for table, value in every_value_in_the_database():
        if isinstance(value, bytes):
            assert traces["pcm_chunk"] not in value, table
            continue
        for text in forbidden_text:
            assert text not in value, (table, text)
    for value in every_value_in_redis():
        assert traces["pcm_chunk"] not in value
        for text in forbidden_text:
            assert text.encode() not in value
    for clip in clips:
        clip.refresh_from_db()
        assert (clip.status, clip.status_reason, clip.wrapped_key) == (ClipStatus.DELETED, "deleted_by_owner", None)
        assert clip.recorded_at is None and clip.device_serial == "" and clip.duration_seconds is None

    listed = client_for(subject.user, verified=False).get("/api/v1/me/clips").json()
    assert {item["state_words"] for item in listed} == {"deleted"}
    entry = LedgerEntry.objects.get(action="deletion")
    assert entry.account_id == subject.id and entry.detail["deleted"] == 2


def test_deleting_one_clip_keeps_the_others(subject, store, django_capture_on_commit_callbacks):
    gone, kept = queued_clip(subject), queued_clip(subject)
    client = client_for(subject.user, verified=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"/api/v1/me/clips/{gone.id}")
    assert response.json()["items"] == [{"clip": str(gone.id), "status": "deleted"}]
    assert [p.parent.name for p in store.files()] == [str(kept.id)]
    assert Clip.objects.get(pk=kept.pk).status == ClipStatus.QUEUED
    again = client.delete(f"/api/v1/me/clips/{gone.id}").json()
    assert again["items"] == [{"clip": str(gone.id), "status": "already_deleted"}]


def test_nobody_deletes_or_lists_another_owners_recordings(subject):
    mine = queued_clip(subject)
    stranger = make_subject("acct-other", first_name="Ezra")
    client = client_for(stranger.user, verified=False)
    response = client.delete(f"/api/v1/me/clips/{mine.id}")
    assert response.status_code == 404
    assert client.get("/api/v1/me/clips").json() == []
    client.delete("/api/v1/me/clips")
    assert Clip.objects.get(pk=mine.pk).status == ClipStatus.QUEUED


def test_a_held_clip_leaves_review_at_once_and_is_deleted_when_the_hold_ends(subject, supervisor, store,
                                                                           django_capture_on_commit_callbacks):
    clip = queued_clip(subject)
    hold = LegalHold.objects.create(clip=clip, reason="Court order 12/2026", created_by=supervisor,
                                    expires_at=timezone.now() + timedelta(days=3))
    client = client_for(subject.user, verified=False)
    receipt = client.delete(f"/api/v1/me/clips/{clip.id}").json()
    [item] = receipt["items"]
    assert item["status"] == "deleted_when_hold_ends" and item["hold_ends_at"].startswith(str(hold.expires_at.date()))
    assert "legal hold" in receipt["message"]
    clip.refresh_from_db()
    assert clip.status == ClipStatus.WITHDRAWN and clip.wrapped_key is not None  # out of review, kept for the hold
    assert client.get("/api/v1/me/clips").json()[0]["deletion_requested"] is True

    assert clips_delete_after_holds() == 0  # the hold still runs
    LegalHold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert clips_delete_after_holds() == 1
    clip.refresh_from_db()
    assert clip.status == ClipStatus.DELETED and clip.status_reason == "deleted_by_owner_after_hold"
    assert store.files() == []


def test_revoking_mid_stream_stops_the_audio_and_deletes_everything_by_default(subject, annotator, other_annotator,
                                                                              store,
                                                                              django_capture_on_commit_callbacks):
    from labeling.models import Transcript

    done = queued_clip(subject)
    client = client_for(annotator)
    first = claim(client)
    client.post(f"/api/v1/assignments/{first['id']}/submit", {"text": TRANSCRIPT}, format="json")
    streaming = queued_clip(subject)
    waiting = queued_clip(subject)
    second = claim(client)
    assert fetch_audio(client, second).status_code == 200  # mid-stream

    with django_capture_on_commit_callbacks(execute=True):
        client_for(subject.user, verified=False).put("/api/v1/me/consent", {"human_review": False}, format="json")

    refused = fetch_audio(client, second)
    assert refused.status_code == 410 and refused.json()["error"]["message"] == "This clip was withdrawn by its owner."
    assert client.post(f"/api/v1/assignments/{second['id']}/submit", {"text": "x"}, format="json").status_code == 410
    other = client_for(other_annotator)
    other.post("/api/v1/shifts")
    assert other.post("/api/v1/assignments/next").status_code == 204
    for clip in (done, streaming, waiting):
        clip.refresh_from_db()
        assert (clip.status, clip.status_reason, clip.wrapped_key) == (ClipStatus.DELETED, "consent_revoked", None)
    assert not Transcript.objects.filter(clip__account=subject).exists()
    assert store.files() == []
    receipt = DeletionReceipt.objects.get(account=subject)
    assert {item["status"] for item in receipt.items} == {"deleted"} and len(receipt.items) == 3
    assert LedgerEntry.objects.get(action="deletion").detail["by"] == "revocation"


def test_without_revocation_deletes_reviewed_clips_stay_and_nothing_is_served(settings, subject, annotator):
    settings.REVOCATION_DELETES = False
    done = queued_clip(subject)
    client = client_for(annotator)
    first = claim(client)
    client.post(f"/api/v1/assignments/{first['id']}/submit", {"text": TRANSCRIPT}, format="json")
    client_for(subject.user, verified=False).put("/api/v1/me/consent", {"human_review": False}, format="json")
    assert Clip.objects.get(pk=done.pk).status == ClipStatus.LABELED
    assert not DeletionReceipt.objects.exists()


def test_the_ledger_says_who_heard_each_clip_for_how_long_and_why(subject, annotator, other_annotator, supervisor):
    clip = queued_clip(subject, seconds=2.0)
    client = client_for(annotator)
    assignment = claim(client)
    fetch_audio(client, assignment)
    fetch_audio(client, assignment)
    client.post(f"/api/v1/assignments/{assignment['id']}/submit", {"text": "ok"}, format="json")
    LegalHold.objects.create(clip=clip, reason="r", created_by=supervisor,
                             expires_at=timezone.now() + timedelta(days=2))
    body = client_for(subject.user, verified=False).get("/api/v1/me/ledger").json()
    [hearing] = body["hearings"]
    assert hearing["clip"] == str(clip.id) and hearing["purpose"] == "transcription"
    assert hearing["audio_sent"] == 2 and hearing["audio_sent_seconds"] == 4.0 and hearing["held_seconds"] is not None
    assert hearing["reviewer"].startswith("Reviewer ") and "ann-1" not in json.dumps(body)
    assert hearing["legal_hold_ends_at"] is not None
