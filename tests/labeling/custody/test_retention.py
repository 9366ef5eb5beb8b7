"""Retention: details of held and discarded clips at once, audio 30 days after labeling, transcripts
(and the clip) after 180, queued clips nobody labeled after 30; legal holds win; every purge is in
the ledger; a run works in batches until done or out of time, and the next goes on."""

from datetime import timedelta

import pytest
from django.utils import timezone

from consent.models import LedgerEntry
from consent.services import ledger_verify
from labeling.custody import retention
from labeling.custody.retention import retention_run
from labeling.models import Assignment, Clip, ClipStatus, Escalation, LegalHold, Transcript
from labeling.review.services import assignment_expire_leases
from tests.factories import claim, client_for, fetch_audio, queued_clip

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
    assert month_old.wrapped_key is None and month_old.envelope is None and month_old.status == ClipStatus.LABELED
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
    assert retention_run() == {"details": 0, "audio": 0, "transcripts": 0, "queued": 0, "finished": 1}
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


def held_clips(subject, count: int) -> list[Clip]:
    clips = [queued_clip(subject) for _ in range(count)]
    Clip.objects.filter(pk__in=[c.pk for c in clips]).update(status="held", status_reason="asr_timeout",
                                                              wrapped_key=None, deid_path="", queued_at=None)
    return clips


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


def test_one_run_purges_batch_after_batch_until_nothing_is_due(subject):
    held = held_clips(subject, 5)
    stale = [queued_clip(subject, queued_at=days_ago(31)) for _ in range(3)]
    assert retention_run(batch=2) == {"details": 5, "audio": 0, "transcripts": 0, "queued": 3, "finished": 1}
    assert not Clip.objects.filter(pk__in=[c.pk for c in held]).exclude(device_serial="").exists()
    assert set(Clip.objects.filter(pk__in=[c.pk for c in stale]).values_list("status", flat=True)) == {"deleted"}
    assert sorted(purges(clip)[0] for clip in held + stale) == ["details"] * 5 + ["queued"] * 3
    assert ledger_verify().intact  # eight entries chained in batches, as one at a time would be
    assert retention_run(batch=2) == {"details": 0, "audio": 0, "transcripts": 0, "queued": 0, "finished": 1}


def test_a_run_out_of_time_stops_after_the_batch_in_hand_and_the_next_goes_on(subject):
    held = held_clips(subject, 5)
    ids = [c.pk for c in held]
    first = retention_run(batch=2, seconds=0)
    assert (first["details"], first["finished"]) == (2, 0)
    assert Clip.objects.filter(pk__in=ids, device_serial="").count() == 2  # the others untouched
    assert retention_run(batch=2, seconds=0)["details"] == 2
    assert retention_run(batch=2) == {"details": 1, "audio": 0, "transcripts": 0, "queued": 0, "finished": 1}
    assert all(purges(clip) == ["details"] for clip in held)  # each once, none twice


def test_a_run_killed_mid_batch_leaves_that_batch_whole_and_the_next_run_takes_it(
        subject, store, monkeypatch, django_capture_on_commit_callbacks):
    stale = [queued_clip(subject, queued_at=days_ago(40 - n)) for n in range(4)]
    appends = retention.ledger_append_many

    def dies_on_the_second_batch(**kwargs):
        if LedgerEntry.objects.filter(action="deletion").exists():
            raise SystemExit("worker killed")
        return appends(**kwargs)

    monkeypatch.setattr(retention, "ledger_append_many", dies_on_the_second_batch)
    with pytest.raises(SystemExit), django_capture_on_commit_callbacks(execute=True):
        retention_run(batch=2)
    states = {c.pk: c for c in Clip.objects.filter(pk__in=[c.pk for c in stale])}
    gone = [c for c in stale if states[c.pk].status == ClipStatus.DELETED]
    kept = [c for c in stale if states[c.pk].status == ClipStatus.QUEUED]
    assert len(gone) == 2 and len(kept) == 2
    for clip in kept:  # nothing half done: key, audio, details and no ledger entry
        assert states[clip.pk].wrapped_key is not None and states[clip.pk].device_serial and purges(clip) == []
    assert sorted(p.parent.name for p in store.files()) == sorted(str(c.pk) for c in kept)

    monkeypatch.setattr(retention, "ledger_append_many", appends)
    with django_capture_on_commit_callbacks(execute=True):
        assert retention_run(batch=2)["queued"] == 2
    assert store.files() == []
    assert all(purges(clip) == ["queued"] for clip in stale)
    assert ledger_verify().intact


def test_a_queued_clip_nobody_labeled_is_deleted_30_days_after_it_was_queued(
        subject, supervisor, store, django_capture_on_commit_callbacks):
    stale = queued_clip(subject, queued_at=days_ago(31))
    young = queued_clip(subject, queued_at=days_ago(29))
    under_hold = queued_clip(subject, queued_at=days_ago(90))
    LegalHold.objects.create(clip=under_hold, reason="Court order", created_by=supervisor,
                             expires_at=timezone.now() + timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert retention_run()["queued"] == 1
    stale.refresh_from_db()
    assert (stale.status, stale.status_reason, stale.wrapped_key, stale.queued_at) == (
        ClipStatus.DELETED, "retention", None, None)
    assert stale.device_serial == "" and stale.recorded_at is None
    assert purges(stale) == ["queued"]
    assert sorted(p.parent.name for p in store.files()) == sorted([str(young.id), str(under_hold.id)])
    for kept in (young, under_hold):
        kept.refresh_from_db()
        assert kept.status == ClipStatus.QUEUED and kept.wrapped_key is not None and purges(kept) == []

    listed = {item["id"]: item for item in client_for(subject.user, verified=False).get("/api/v1/me/clips").json()}
    assert (listed[str(stale.id)]["state_words"], listed[str(stale.id)]["reason"]) == (
        "deleted", "kept no longer than our retention period")
    assert listed[str(young.id)]["state_words"] == "waiting for review"


def test_a_stale_clip_lent_out_keeps_its_audio_until_the_lease_ends_then_goes(annotator, subject):
    stale = queued_clip(subject, queued_at=days_ago(31))
    client = client_for(annotator)
    assignment = claim(client)
    assert retention_run()["queued"] == 0  # mid-lease: the annotator still hears it
    assert Clip.objects.get(pk=stale.pk).status == ClipStatus.ASSIGNED
    assert fetch_audio(client, assignment).status_code == 200

    Assignment.objects.filter(pk=assignment["id"]).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert assignment_expire_leases() == 1  # back in the queue, nobody labeled it
    assert retention_run()["queued"] == 1
    assert Clip.objects.filter(pk=stale.pk, status=ClipStatus.DELETED, wrapped_key__isnull=True).exists()


def test_a_stale_clip_labeled_is_not_taken_as_unlabeled(annotator, subject):
    clip = labeled(annotator, subject, days_ago=1)
    Clip.objects.filter(pk=clip.pk).update(queued_at=days_ago(60))  # waited long, then labeled
    assert retention_run()["queued"] == 0
    clip.refresh_from_db()
    assert clip.status == ClipStatus.LABELED and clip.wrapped_key is not None
