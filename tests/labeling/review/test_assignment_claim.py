"""Claiming: oldest first, one person per clip, leases that expire, concurrent claimers never collide."""

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from labeling.models import Assignment, AssignmentState, Clip, ClipStatus
from labeling.review.services import assignment_claim, assignment_expire_leases, shift_end, shift_start
from labeling.review.submit import assignment_skip
from tests.factories import client_for, make_subject, make_user, queued_clip


@pytest.mark.django_db
def test_claim_needs_an_open_shift(annotator, subject):
    queued_clip(subject)
    response = client_for(annotator).post("/api/v1/assignments/next")
    assert response.status_code == 409 and response.json()["error"]["code"] == "no_open_shift"


@pytest.mark.django_db
def test_claim_takes_the_oldest_clip_and_marks_it_assigned(annotator, subject):
    now = timezone.now()
    newer = queued_clip(subject, queued_at=now - timedelta(minutes=1))
    older = queued_clip(subject, queued_at=now - timedelta(minutes=5))
    shift_start(annotator=annotator)
    assignment = assignment_claim(annotator=annotator)
    assert assignment.clip_id == older.id
    assert Clip.objects.get(pk=older.pk).status == ClipStatus.ASSIGNED
    assert Clip.objects.get(pk=newer.pk).status == ClipStatus.QUEUED
    assert assignment.lease_expires_at > timezone.now() + timedelta(minutes=9)


@pytest.mark.django_db
def test_asking_twice_returns_the_same_assignment(annotator, subject):
    queued_clip(subject)
    queued_clip(subject)
    client = client_for(annotator)
    client.post("/api/v1/shifts")
    first = client.post("/api/v1/assignments/next").json()
    again = client.post("/api/v1/assignments/next").json()
    assert first["id"] == again["id"]
    assert Assignment.objects.filter(state=AssignmentState.OPEN).count() == 1


@pytest.mark.django_db
def test_empty_queue_answers_204(annotator):
    client = client_for(annotator)
    client.post("/api/v1/shifts")
    assert client.post("/api/v1/assignments/next").status_code == 204


@pytest.mark.django_db
def test_database_forbids_two_open_assignments_for_one_clip(annotator, other_annotator, subject):
    clip = queued_clip(subject)
    lease = timezone.now() + timedelta(minutes=10)
    Assignment.objects.create(clip=clip, annotator=annotator, shift=shift_start(annotator=annotator),
                              lease_expires_at=lease)
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(clip=clip, annotator=other_annotator,
                                  shift=shift_start(annotator=other_annotator), lease_expires_at=lease)


@pytest.mark.django_db
def test_expired_lease_returns_the_clip_to_the_queue(annotator, other_annotator, subject):
    clip = queued_clip(subject)
    shift_start(annotator=annotator)
    assignment = assignment_claim(annotator=annotator)
    Assignment.objects.filter(pk=assignment.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert assignment_expire_leases() == 1
    assert Assignment.objects.get(pk=assignment.pk).state == AssignmentState.EXPIRED
    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.QUEUED
    shift_start(annotator=other_annotator)
    assert assignment_claim(annotator=other_annotator).clip_id == clip.id


@pytest.mark.django_db
def test_skipped_clip_goes_to_someone_else_not_back_to_the_skipper(annotator, other_annotator, subject):
    clip = queued_clip(subject)
    shift_start(annotator=annotator)
    shift_start(annotator=other_annotator)
    mine = assignment_claim(annotator=annotator)
    assignment_skip(assignment_id=mine.id, annotator=annotator)
    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.QUEUED
    assert assignment_claim(annotator=annotator) is None
    theirs = assignment_claim(annotator=other_annotator)
    assert theirs.clip_id == clip.id and theirs.id != mine.id  # a new opaque id for the same clip


@pytest.mark.django_db
def test_ending_a_shift_releases_the_open_clip(annotator, subject):
    clip = queued_clip(subject)
    shift_start(annotator=annotator)
    assignment = assignment_claim(annotator=annotator)
    shift_end(annotator=annotator)
    assert Assignment.objects.get(pk=assignment.pk).state == AssignmentState.RELEASED
    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.QUEUED
    with pytest.raises(Exception) as caught:
        assignment_claim(annotator=annotator)
    assert getattr(caught.value, "code", "") == "no_open_shift"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_claimers_never_get_the_same_clip(subject, on_postgres):
    """Twelve annotators in their own threads and connections claim until the queue is empty."""
    # Twenty owners: the linkability limit lets each annotator hear at most three clips of one.
    owners = [subject] + [make_subject(f"acct-{n}", first_name="Owner") for n in range(19)]
    clips = {queued_clip(owner).id for owner in owners for _ in range(3)}
    annotators = [make_user(f"worker-{i}", "annotator") for i in range(12)]
    for person in annotators:
        shift_start(annotator=person)
    claimed: list = []
    errors: list = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(annotators))

    def work(person):
        try:
            barrier.wait()
            while True:
                assignment = assignment_claim(annotator=person)
                if assignment is None:
                    return
                with lock:
                    claimed.append(assignment.clip_id)
                # Finish it so the next claim takes a new clip.
                Assignment.objects.filter(pk=assignment.pk).update(state=AssignmentState.SUBMITTED)
                Clip.objects.filter(pk=assignment.clip_id).update(status=ClipStatus.LABELED)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(p,)) for p in annotators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(claimed) == len(set(claimed)) == len(clips)
    assert set(claimed) == clips


def test_an_annotator_hears_at_most_three_clips_of_one_subject_in_30_days(annotator, other_annotator, subject):
    stranger = make_subject("acct-other", first_name="Ezra")
    own = [queued_clip(subject) for _ in range(5)]
    later = queued_clip(stranger)
    client = client_for(annotator)
    client.post("/api/v1/shifts")
    heard = []
    for _ in range(5):
        response = client.post("/api/v1/assignments/next")
        if response.status_code == 204:
            break
        heard.append(Assignment.objects.get(pk=response.json()["id"]).clip_id)
        client.post(f"/api/v1/assignments/{response.json()['id']}/submit", {"text": "ok"}, format="json")
    # Three of the subject's clips, then the stranger's, then nothing: two of the subject's wait.
    assert heard == [own[0].id, own[1].id, own[2].id, later.id]
    # Another annotator gets them.
    other = client_for(other_annotator)
    other.post("/api/v1/shifts")
    assert Assignment.objects.get(pk=other.post("/api/v1/assignments/next").json()["id"]).clip_id == own[3].id
    # Thirty days on, the first annotator may hear this subject again.
    Assignment.objects.filter(annotator=annotator).update(created_at=timezone.now() - timedelta(days=31))
    assert Assignment.objects.get(pk=client.post("/api/v1/assignments/next").json()["id"]).clip_id == own[4].id
