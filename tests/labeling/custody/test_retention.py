"""Retention: details of held and discarded clips at once, audio 30 days after labeling, transcripts
(and the clip) after 180; legal holds win; every purge is in the ledger."""

from datetime import timedelta

import pytest
from django.utils import timezone

from consent.models import LedgerEntry
from labeling.custody.services import retention_run
from labeling.models import Clip, ClipStatus, Escalation, LegalHold, Transcript
from tests.factories import claim, client_for, queued_clip

pytestmark = pytest.mark.django_db


def labeled(annotator, subject, days_ago: float):
    clip = queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    client.post(f"/api/v1/assignments/{assignment['id']}/submit", {"text": "lights off"}, format="json")
    past = timezone.now() - timedelta(days=days_ago)
    Clip.objects.filter(pk=clip.pk).update(updated_at=past)
    Transcript.objects.filter(clip=clip).update(created_at=past)
    return clip


def purges(clip):
    return [e.detail["what"] for e in LedgerEntry.objects.filter(clip_id=clip.id, action="deletion")]


def test_details_of_held_and_discarded_clips_go_at_once_their_reasons_stay(subject):
    held = queued_clip(subject)
    discarded = queued_clip(subject)
    Clip.objects.filter(pk=held.pk).update(status="held", status_reason="asr_timeout", wrapped_key=None, deid_path="",
                                           queued_at=None)
    Clip.objects.filter(pk=discarded.pk).update(status="discarded", status_reason="accidental", wrapped_key=None,
                                                deid_path="", queued_at=None)
    assert retention_run()["details"] == 2
    for clip, reason in ((held, "asr_timeout"), (discarded, "accidental")):
        clip.refresh_from_db()
        assert clip.status_reason == reason and clip.device_serial == "" and clip.recorded_at is None
        assert purges(clip) == ["details"]
    assert retention_run()["details"] == 0  # once


def test_audio_goes_30_days_after_labeling_then_transcripts_and_the_clip_after_180(annotator, subject, store,
                                                                                   django_capture_on_commit_callbacks):
    fresh = labeled(annotator, subject, days_ago=29)
    month_old = labeled(annotator, subject, days_ago=31)
    with django_capture_on_commit_callbacks(execute=True):
        assert retention_run()["audio"] == 1
    month_old.refresh_from_db()
    assert month_old.wrapped_key is None and month_old.status == ClipStatus.LABELED
    assert Transcript.objects.filter(clip=month_old).exists()
    assert [p.parent.name for p in store.files()] == [str(fresh.id)]

    Transcript.objects.filter(clip=month_old).update(created_at=timezone.now() - timedelta(days=181))
    with django_capture_on_commit_callbacks(execute=True):
        assert retention_run()["transcripts"] == 1
    month_old.refresh_from_db()
    assert (month_old.status, month_old.status_reason) == (ClipStatus.DELETED, "retention")
    assert not Transcript.objects.filter(clip=month_old).exists()
    assert purges(month_old) == ["audio", "transcripts"]
    assert Clip.objects.get(pk=fresh.pk).wrapped_key is not None


def test_a_legal_hold_keeps_everything(annotator, supervisor, subject):
    clip = labeled(annotator, subject, days_ago=400)
    LegalHold.objects.create(clip=clip, reason="Court order", created_by=supervisor,
                             expires_at=timezone.now() + timedelta(days=1))
    assert retention_run() == {"details": 0, "audio": 0, "transcripts": 0}
    clip.refresh_from_db()
    assert clip.wrapped_key is not None and Transcript.objects.filter(clip=clip).exists()


def test_escalated_audio_stays_while_open_and_goes_30_days_after_the_outcome(annotator, supervisor, subject):
    clip = queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    client.post(f"/api/v1/assignments/{assignment['id']}/escalate", {"category": "distressing"}, format="json")
    Clip.objects.filter(pk=clip.pk).update(updated_at=timezone.now() - timedelta(days=60))
    assert retention_run()["audio"] == 0  # nobody decided yet
    Escalation.objects.filter(clip=clip).update(state="resolved", outcome="referral", reason="r", referred_to="lead",
                                                resolved_by=supervisor,
                                                resolved_at=timezone.now() - timedelta(days=31))
    assert retention_run()["audio"] == 1
    assert Clip.objects.get(pk=clip.pk).wrapped_key is None


def test_a_second_reading_still_waiting_is_called_off_when_the_audio_goes(annotator, other_annotator, subject):
    from labeling.models import Project, SecondOpinion

    Project.objects.filter(slug="default").update(agreement_share=1.0)
    clip = labeled(annotator, subject, days_ago=31)
    assert SecondOpinion.objects.get(clip=clip).state == "pending"
    retention_run()
    assert SecondOpinion.objects.get(clip=clip).state == "cancelled"
    client = client_for(other_annotator)
    client.post("/api/v1/shifts")
    assert client.post("/api/v1/assignments/next").status_code == 204  # nothing left to hear
