"""The page holding a clip open learns whether it may still be heard, and if not why, in words that
name nobody: only the assignment's holder is answered, and asking writes nothing."""

import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.security import LAST_SEEN_SESSION_KEY
from consent.models import LedgerEntry, PolicyVersion
from labeling.custody.services import clips_delete
from labeling.models import Assignment, Clip, LegalHold
from labeling.review.selectors import assignment_status
from labeling.review.services import assignment_expire_leases
from portal.services import consent_set
from tests.factories import ask, claim, client_for, flag, flagged, make_user, policy_published, queued_clip

pytestmark = pytest.mark.django_db


def status(client, assignment_id):
    return client.get(f"/api/v1/assignments/{assignment_id}/status")


def claimed(annotator, subject):
    clip = queued_clip(subject, seconds=2.0)
    client = client_for(annotator)
    return client, claim(client), clip


def test_the_holder_hears_that_the_clip_may_be_heard(annotator, subject):
    client, assignment, _ = claimed(annotator, subject)
    response = status(client, assignment["id"])
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    body = response.json()
    assert body["audible"] is True and body["reason"] is None and body["message"] is None
    assert body["lease_expires_at"] == assignment["lease_expires_at"]


def test_nobody_but_the_holder_learns_anything(annotator, other_annotator, supervisor, subject):
    _, assignment, _ = claimed(annotator, subject)
    for stranger in (other_annotator, supervisor):
        response = status(client_for(stranger), assignment["id"])
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert status(client_for(annotator), uuid.uuid4()).status_code == 404
    assert status(client_for(subject.user), assignment["id"]).status_code == 403


def test_a_supervisor_is_answered_about_their_own_listening(annotator, supervisor, subject):
    escalation_id, _ = flagged(annotator, subject)
    desk = client_for(supervisor)
    desk.post(f"/api/v1/escalations/{escalation_id}/claim")
    listening = desk.post(f"/api/v1/escalations/{escalation_id}/listen").json()
    assert status(desk, listening["assignment"]).json()["audible"] is True
    assert status(client_for(annotator), listening["assignment"]).status_code == 404
    assert desk.post(f"/api/v1/escalations/{escalation_id}/resolve",
                     {"outcome": "purge", "reason": "Nothing to keep."}, format="json").status_code == 200
    assert status(desk, listening["assignment"]).json()["reason"] == "deleted"


def refused(client, assignment) -> dict:
    response = status(client, assignment["id"])
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["audible"] is False
    return body


@pytest.mark.parametrize("deletes", [True, False])
def test_the_owners_withdrawal_is_told_as_such(settings, annotator, subject, deletes):
    settings.REVOCATION_DELETES = deletes
    client, assignment, _ = claimed(annotator, subject)
    consent_set(account=subject, granted=False, channel="portal")
    body = refused(client, assignment)
    assert body["reason"] == "withdrawn" and "withdrew" in body["message"]
    # Nothing that names the owner.
    assert subject.first_name not in str(body) and subject.external_id not in str(body)


def test_a_deleted_clip_is_told_as_such(annotator, subject):
    client, assignment, clip = claimed(annotator, subject)
    clips_delete(account=subject, clip_id=clip.id)
    body = refused(client, assignment)
    assert body["reason"] == "deleted" and "deleted" in body["message"]


def test_a_deletion_waiting_for_a_legal_hold_is_a_deletion_to_the_annotator(annotator, subject):
    client, assignment, clip = claimed(annotator, subject)
    now = timezone.now()
    LegalHold.objects.create(clip=clip, reason="Court order 17/2026", created_by=make_user("counsel"),
                             created_at=now, expires_at=now + timedelta(days=30))
    clips_delete(account=subject, clip_id=clip.id)
    assert refused(client, assignment)["reason"] == "deleted"


def test_a_legal_hold_takes_the_clip_away(annotator, subject):
    client, assignment, clip = claimed(annotator, subject)
    now = timezone.now()
    LegalHold.objects.create(clip=clip, reason="Court order 17/2026", created_by=make_user("counsel"),
                             created_at=now, expires_at=now + timedelta(days=30))
    body = refused(client, assignment)
    assert body["reason"] == "legal_hold" and "legal hold" in body["message"]


def test_a_legal_hold_counts_while_in_force_and_not_after(annotator, subject):
    client, assignment, clip = claimed(annotator, subject)
    now = timezone.now()
    LegalHold.objects.create(clip=clip, reason="Court order 17/2026", created_by=make_user("counsel"),
                             created_at=now - timedelta(days=30), expires_at=now + timedelta(minutes=5))
    assert assignment_status(assignment_id=assignment["id"], annotator=annotator, now=now)["reason"] == "legal_hold"
    later = now + timedelta(minutes=6)
    Assignment.objects.filter(pk=assignment["id"]).update(lease_expires_at=later + timedelta(minutes=5))
    assert assignment_status(assignment_id=assignment["id"], annotator=annotator, now=later)["audible"]


def test_a_lease_that_ran_out_is_told_before_and_after_the_expiry_task(annotator, subject):
    client, assignment, _ = claimed(annotator, subject)
    Assignment.objects.filter(pk=assignment["id"]).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert refused(client, assignment)["reason"] == "lease_expired"
    assert assignment_expire_leases() == 1
    body = refused(client, assignment)
    assert body["reason"] == "lease_expired" and "ran out" in body["message"]


def test_a_clip_flagged_by_another_annotator_was_taken_away(annotator, other_annotator, subject):
    client, assignment, _ = claimed(annotator, subject)
    assert ask(client, assignment).status_code == 201
    answering = client_for(other_annotator)
    opinion = claim(answering)
    assert flag(answering, opinion).status_code == 201
    body = refused(client, assignment)
    assert body["reason"] == "taken_away" and "supervisor" in body["message"]


@pytest.mark.parametrize("how", ["submit", "skip"])
def test_a_clip_handed_in_is_closed(annotator, subject, how):
    client, assignment, _ = claimed(annotator, subject)
    body = {"text": "hello"} if how == "submit" else None
    assert client.post(f"/api/v1/assignments/{assignment['id']}/{how}", body, format="json").status_code == 200
    assert refused(client, assignment)["reason"] == "closed"


def test_the_clip_claimed_ahead_is_answered_for_too(annotator, subject):
    client, assignment, _ = claimed(annotator, subject)
    ahead_clip = queued_clip(subject)
    ahead = client.post("/api/v1/assignments/prefetch").json()
    assert status(client, ahead["id"]).json()["audible"] is True
    clips_delete(account=subject, clip_id=ahead_clip.id)
    assert refused(client, ahead)["reason"] == "deleted"
    assert status(client, assignment["id"]).json()["audible"] is True


def test_asking_is_one_read_and_writes_nothing(annotator, subject):
    client, assignment, clip = claimed(annotator, subject)
    plays = Assignment.objects.get(pk=assignment["id"]).audio_sent
    with CaptureQueriesContext(connection) as served:
        assert assignment_status(assignment_id=assignment["id"], annotator=annotator, now=timezone.now())["audible"]
    assert len(served) == 1 and served[0]["sql"].lstrip().upper().startswith("SELECT")
    clips_delete(account=subject, clip_id=clip.id)
    entries = LedgerEntry.objects.count()
    with CaptureQueriesContext(connection) as refused_now:
        assert assignment_status(assignment_id=assignment["id"], annotator=annotator,
                                 now=timezone.now())["reason"] == "deleted"
    assert len(refused_now) == 1
    for _ in range(5):
        status(client, assignment["id"])
    assert LedgerEntry.objects.count() == entries
    assert Assignment.objects.get(pk=assignment["id"]).audio_sent == plays
    assert Clip.objects.filter(pk=clip.id).exists()


def test_the_page_asking_does_not_keep_an_idle_session_alive(annotator, subject):
    client, assignment, _ = claimed(annotator, subject)
    session = client.session
    session[LAST_SEEN_SESSION_KEY] = seen = time.time() - 10 * 60
    session.save()
    for _ in range(3):
        assert status(client, assignment["id"]).status_code == 200
    assert client.session[LAST_SEEN_SESSION_KEY] == seen
    session = client.session
    session[LAST_SEEN_SESSION_KEY] = time.time() - 16 * 60
    session.save()
    response = status(client, assignment["id"])
    assert response.status_code == 401 and response.json()["error"]["code"] == "session_expired"


def test_a_material_policy_change_is_told_as_such(annotator, subject):
    client, assignment, _ = claimed(annotator, subject)
    policy_published("2027-03", material=True)  # the publication closes the open assignment
    body = refused(client, assignment)
    assert body["reason"] == "policy_changed" and "policy changed" in body["message"]


def test_a_claim_that_raced_a_material_policy_change_is_told_as_such(annotator, subject):
    client, assignment, _ = claimed(annotator, subject)
    # Published without closing open assignments, as a claim racing the publication would see it.
    PolicyVersion.objects.create(version="2027-03", text="New terms.", material=True, number=99,
                                 published_at=timezone.now())
    assert Assignment.objects.get(pk=assignment["id"]).state == "open"
    assert refused(client, assignment)["reason"] == "policy_changed"
