"""Submitting and skipping: states move once, counts follow, bad input is refused."""

import pytest

from labeling.models import Assignment, AssignmentState, Clip, ClipStatus, Transcript
from tests.factories import client_for, queued_clip

pytestmark = pytest.mark.django_db


def start(client):
    client.post("/api/v1/shifts")
    return client.post("/api/v1/assignments/next").json()


def test_submit_labels_the_clip_and_counts_it(annotator, subject):
    clip = queued_clip(subject)
    queued_clip(subject)
    client = client_for(annotator)
    assignment = start(client)
    assert assignment["clips_done"] == 0
    response = client.post(f"/api/v1/assignments/{assignment['id']}/submit",
                           {"text": "  turn off the lights  "}, format="json")
    assert response.status_code == 200 and response.json() == {"status": "submitted", "clips_done": 1}
    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.LABELED
    transcript = Transcript.objects.get(clip=clip)
    assert transcript.text == "turn off the lights" and transcript.annotator == annotator
    assert client.post("/api/v1/assignments/next").json()["clips_done"] == 1


def test_double_submit_changes_nothing_twice(annotator, subject):
    queued_clip(subject)
    client = client_for(annotator)
    assignment = start(client)
    url = f"/api/v1/assignments/{assignment['id']}/submit"
    assert client.post(url, {"text": "hello"}, format="json").status_code == 200
    again = client.post(url, {"text": "hello again"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "assignment_closed"
    assert Transcript.objects.count() == 1 and Transcript.objects.get().text == "hello"


@pytest.mark.parametrize("body,code", [({"text": "   "}, "empty_transcript"), ({}, "invalid_input"),
                                       ({"text": "x" * 5001}, "transcript_too_long")])
def test_bad_transcript_is_refused_and_the_clip_stays_assigned(annotator, subject, body, code):
    clip = queued_clip(subject)
    client = client_for(annotator)
    assignment = start(client)
    response = client.post(f"/api/v1/assignments/{assignment['id']}/submit", body, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == code
    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.ASSIGNED
    assert Assignment.objects.get(pk=assignment["id"]).state == AssignmentState.OPEN


def test_submit_after_withdrawal_says_so(annotator, subject):
    from portal.services import consent_set

    queued_clip(subject)
    client = client_for(annotator)
    assignment = start(client)
    consent_set(account=subject, granted=False, channel="portal")
    response = client.post(f"/api/v1/assignments/{assignment['id']}/submit", {"text": "hi"}, format="json")
    assert response.status_code == 410 and "withdrawn by its owner" in response.json()["error"]["message"]
    assert Transcript.objects.count() == 0


def test_skip_through_the_api(annotator, subject):
    clip = queued_clip(subject)
    client = client_for(annotator)
    assignment = start(client)
    response = client.post(f"/api/v1/assignments/{assignment['id']}/skip")
    assert response.status_code == 200
    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.QUEUED
    assert client.post("/api/v1/assignments/next").status_code == 204


def test_end_shift_through_the_api(annotator, subject):
    queued_clip(subject)
    client = client_for(annotator)
    start(client)
    response = client.post("/api/v1/shifts/current/end")
    assert response.status_code == 200 and response.json()["ended_at"]
    assert client.post("/api/v1/shifts/current/end").status_code == 409


def test_submit_with_next_hands_over_the_next_clip_in_the_same_answer(annotator, subject):
    first, second = queued_clip(subject), queued_clip(subject)
    client = client_for(annotator)
    assignment = start(client)
    body = client.post(f"/api/v1/assignments/{assignment['id']}/submit", {"text": "one", "next": True},
                       format="json").json()
    assert body["clips_done"] == 1 and body["next"]["id"] != assignment["id"]
    assert Assignment.objects.get(pk=body["next"]["id"]).clip_id == second.id
    assert Clip.objects.get(pk=first.pk).status == ClipStatus.LABELED
    assert body["next"]["audio_token"] and body["next"]["project"]["name"]
    last = client.post(f"/api/v1/assignments/{body['next']['id']}/submit", {"text": "two", "next": True},
                       format="json").json()
    assert last["clips_done"] == 2 and last["next"] is None  # the queue is empty


def test_submit_with_next_still_submits_when_the_rules_refuse_another_clip(annotator, subject, settings):
    settings.WORK_MAX_CLIPS_PER_SHIFT = 1
    clip = queued_clip(subject)
    queued_clip(subject)
    client = client_for(annotator)
    assignment = start(client)
    body = client.post(f"/api/v1/assignments/{assignment['id']}/submit", {"text": "one", "next": True},
                       format="json").json()
    assert body["next"] is None and Clip.objects.get(pk=clip.pk).status == ClipStatus.LABELED
    refusal = client.post("/api/v1/assignments/next")
    assert refusal.status_code == 403 and refusal.json()["error"]["message"]
