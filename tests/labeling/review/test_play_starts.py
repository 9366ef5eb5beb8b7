"""What the owner is told of listening is what the server can count: the audio it sent, and the play
starts the reviewer's page reported, which only the assignee's page may report, only while the clip
may reach them, and only within bounds a script cannot pass."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from labeling.models import Assignment
from labeling.review import audio
from portal.services import consent_set
from tests.factories import claim, client_for, fetch_audio, flagged, queued_clip

pytestmark = pytest.mark.django_db


def report(client, assignment: dict, token: str | None = None):
    """POST a play start as the annotator page does when its sound starts."""
    return client.post(f"/api/v1/assignments/{assignment['id']}/play-starts",
                       HTTP_X_AUDIO_TOKEN=assignment["audio_token"] if token is None else token)


def play_starts(assignment: dict) -> int:
    return Assignment.objects.get(pk=assignment["id"]).play_starts


def an_hour_later(assignment: dict) -> None:
    """As if the last counted start were long past, so the next is not too soon."""
    Assignment.objects.filter(pk=assignment["id"]).update(last_play_start_at=timezone.now() - timedelta(hours=1))


def hearing_of(subject) -> dict:
    [hearing] = client_for(subject.user, verified=False).get("/api/v1/me/ledger").json()["hearings"]
    return hearing


def test_the_owner_is_told_audio_sent_and_play_starts_reported_apart(annotator, subject):
    queued_clip(subject, seconds=2.0)
    client = client_for(annotator)
    assignment = claim(client)
    assert fetch_audio(client, assignment).status_code == 200
    for _ in range(3):
        assert report(client, assignment).status_code == 204
        an_hour_later(assignment)
    hearing = hearing_of(subject)
    assert hearing["audio_sent"] == 1 and hearing["audio_sent_seconds"] == 2.0
    assert hearing["play_starts_reported"] == 3
    # The old names stay for old callers, meaning exactly what they always counted: the audio sent.
    assert hearing["plays"] == 1 and hearing["heard_seconds"] == 2.0
    page = Client()
    page.force_login(subject.user)
    html = " ".join(page.get("/me/who-heard/").content.decode().split())
    assert "audio sent to the reviewer 1 time (2.0 s of audio); the reviewer's page reported 3 play starts" in html
    assert "1 time, 2.0 s" not in html  # no longer called "heard"


def test_audio_fetched_ahead_and_never_played_is_sent_not_played(annotator, subject):
    queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    fetch_audio(client, assignment)
    fetch_audio(client, assignment)
    hearing = hearing_of(subject)
    assert hearing["audio_sent"] == 2 and hearing["play_starts_reported"] == 0
    page = Client()
    page.force_login(subject.user)
    html = " ".join(page.get("/me/who-heard/").content.decode().split())
    assert "audio sent to the reviewer 2 times" in html and "reported 0 play starts" in html


def test_no_play_start_before_the_audio_was_sent(annotator, subject):
    queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    refused = report(client, assignment)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "audio_not_sent"
    assert play_starts(assignment) == 0


def test_a_script_cannot_count_more_than_one_start_a_second(annotator, subject, monkeypatch):
    monkeypatch.setattr(audio, "PLAY_START_MIN_SECONDS", 60)  # a slow machine's 20 requests stay inside it
    queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    fetch_audio(client, assignment)
    answers = [report(client, assignment) for _ in range(20)]
    assert answers[0].status_code == 204
    assert {a.status_code for a in answers[1:]} == {429}
    assert answers[1].json()["error"]["code"] == "play_start_too_soon" and answers[1]["Retry-After"] == "60"
    assert play_starts(assignment) == 1


def test_play_starts_are_bounded_by_the_audio_sent(annotator, subject):
    queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    fetch_audio(client, assignment)
    for _ in range(audio.PLAY_STARTS_PER_AUDIO_SENT):
        assert report(client, assignment).status_code == 204
        an_hour_later(assignment)
    refused = report(client, assignment)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "play_starts_used_up"
    assert play_starts(assignment) == audio.PLAY_STARTS_PER_AUDIO_SENT
    fetch_audio(client, assignment)  # a second copy sent: room for as many starts again
    assert report(client, assignment).status_code == 204
    assert play_starts(assignment) == audio.PLAY_STARTS_PER_AUDIO_SENT + 1


def test_only_the_assignees_page_reports_a_start(annotator, other_annotator, supervisor, subject):
    queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    fetch_audio(client, assignment)
    other = client_for(other_annotator)
    other.post("/api/v1/shifts")
    # Another annotator or a supervisor, even holding the stolen token, finds no such assignment.
    for intruder in (other, client_for(supervisor)):
        answer = report(intruder, assignment)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    assert report(Client(), assignment).status_code == 403
    assert report(client_for(subject.user, verified=False), assignment).status_code == 403
    # The assignee without the token its claim returned is refused too.
    assert report(client, assignment, token="0" * 64).json()["error"]["code"] == "bad_audio_token"
    assert play_starts(assignment) == 0


def test_no_play_start_once_the_clip_may_not_reach_the_reviewer(annotator, subject):
    queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    fetch_audio(client, assignment)
    consent_set(account=subject, granted=False, channel="portal")
    refused = report(client, assignment)
    assert refused.status_code == 410 and refused.json()["error"]["code"] == "withdrawn"
    assert play_starts(assignment) == 0


def test_no_play_start_after_the_lease_ran_out(annotator, subject):
    queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    fetch_audio(client, assignment)
    Assignment.objects.filter(pk=assignment["id"]).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    refused = report(client, assignment)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "lease_expired"
    assert play_starts(assignment) == 0


def test_a_supervisors_listening_reports_its_play_start_too(annotator, supervisor, subject):
    escalation, _ = flagged(annotator, subject)
    desk = client_for(supervisor)
    desk.post(f"/api/v1/escalations/{escalation}/claim")
    listening = desk.post(f"/api/v1/escalations/{escalation}/listen").json()
    listening = {"id": listening["assignment"], "audio_token": listening["audio_token"]}
    assert fetch_audio(desk, listening).status_code == 200
    assert report(desk, listening).status_code == 204
    hearings = client_for(subject.user, verified=False).get("/api/v1/me/ledger").json()["hearings"]
    review = next(h for h in hearings if h["purpose"] == "escalation_review")
    assert review["audio_sent"] == 1 and review["play_starts_reported"] == 1
