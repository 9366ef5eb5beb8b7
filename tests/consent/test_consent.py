"""Consent is versioned and append-only; revoking withdraws the owner's clips from review at once."""

import pytest

from consent.models import ConsentRecord
from consent.selectors import consent_is_active
from labeling.models import Assignment, AssignmentState, Clip, ClipStatus
from labeling.review.services import assignment_claim, shift_start
from portal.services import consent_set
from tests.factories import client_for, make_subject, queued_clip

pytestmark = pytest.mark.django_db


def test_each_change_adds_a_version(subject):
    consent_set(account=subject, granted=False, channel="portal")
    consent_set(account=subject, granted=True, channel="api")
    versions = list(ConsentRecord.objects.filter(account=subject).values_list("version", "granted", "channel"))
    assert versions == [(1, True, "portal"), (2, False, "portal"), (3, True, "api")]
    assert consent_is_active(account_id=subject.id)


def test_repeating_the_same_choice_adds_nothing(subject):
    consent_set(account=subject, granted=True, channel="portal")
    assert ConsentRecord.objects.filter(account=subject).count() == 1


def test_records_cannot_be_edited(subject):
    record = ConsentRecord.objects.get(account=subject)
    record.granted = False
    with pytest.raises(ValueError):
        record.save()
    assert ConsentRecord.objects.get(pk=record.pk).granted is True


def test_revocation_empties_the_queue_and_revokes_open_work(settings, subject, annotator, store,
                                                             django_capture_on_commit_callbacks):
    settings.REVOCATION_DELETES = False  # withdrawal alone; deletion on revocation: tests/consent/test_deletion.py
    other = make_subject("acct-keeps", first_name="Ezra")
    mine = [queued_clip(subject) for _ in range(3)]
    theirs = queued_clip(other)
    shift_start(annotator=annotator)
    held = assignment_claim(annotator=annotator)
    assert held.clip_id == mine[0].id
    with django_capture_on_commit_callbacks(execute=True):
        consent_set(account=subject, granted=False, channel="portal")
    assert set(Clip.objects.filter(account=subject).values_list("status", flat=True)) == {ClipStatus.WITHDRAWN}
    assert Clip.objects.filter(account=subject, wrapped_key__isnull=False).count() == 0
    assert Clip.objects.filter(account=subject, envelope__isnull=False).count() == 0
    assert Assignment.objects.get(pk=held.pk).state == AssignmentState.REVOKED
    assert Clip.objects.get(pk=theirs.pk).status == ClipStatus.QUEUED
    assert [p.parent.name for p in store.files()] == [str(theirs.id)]


def test_consent_api_reads_and_changes_own_consent(subject):
    client = client_for(subject.user)
    body = client.get("/api/v1/me/consent").json()
    assert body["human_review"] is True and len(body["history"]) == 1
    changed = client.put("/api/v1/me/consent", {"human_review": False}, format="json").json()
    assert changed["human_review"] is False and changed["history"][0]["version"] == 2
    assert not consent_is_active(account_id=subject.id)


def test_consent_api_refuses_bad_input_and_non_owners(subject, annotator):
    client = client_for(subject.user)
    response = client.put("/api/v1/me/consent", {"human_review": "perhaps"}, format="json")
    assert response.status_code == 400 and "human_review" in response.json()["error"]["fields"]
    assert client_for(annotator).get("/api/v1/me/consent").status_code == 403
