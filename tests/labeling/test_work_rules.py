"""Shifts are bounded: time in any 24 hours, clips per shift, breaks after continuous work, pace between claims."""

from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.models import Assignment, Shift
from tests.factories import client_for, queued_clip, team_of

pytestmark = pytest.mark.django_db


def work_one(client):
    """Claim a clip and submit it; return the claim's response."""
    response = client.post("/api/v1/assignments/next")
    if response.status_code == 200:
        assert client.post(f"/api/v1/assignments/{response.json()['id']}/submit", {"text": "ok"},
                           format="json").status_code == 200
    return response


def shift_of(user) -> Shift:
    return Shift.objects.get(annotator=user, ended_at__isnull=True)


def move_back(user, delta):
    """Pretend the open shift and all its activity happened `delta` earlier."""
    shift = shift_of(user)
    for field in ("started_at", "last_claim_at", "last_active_at", "stretch_started_at"):
        if getattr(shift, field):
            setattr(shift, field, getattr(shift, field) - delta)
    shift.save()


def test_claims_too_close_together_are_refused_with_retry_after(settings, annotator, subject):
    settings.WORK_MIN_CLAIM_INTERVAL_SECONDS = 5
    for _ in range(3):
        queued_clip(subject)
    client = client_for(annotator)
    client.post("/api/v1/shifts")
    assert work_one(client).status_code == 200
    refused = client.post("/api/v1/assignments/next")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_fast"
    assert 1 <= int(refused["Retry-After"]) <= 5 and "next clip in" in refused.json()["error"]["message"]
    move_back(annotator, timedelta(seconds=6))
    assert work_one(client).status_code == 200


def test_the_clip_already_held_is_returned_whatever_the_pace(settings, annotator, subject):
    settings.WORK_MIN_CLAIM_INTERVAL_SECONDS = 60
    queued_clip(subject)
    client = client_for(annotator)
    client.post("/api/v1/shifts")
    first = client.post("/api/v1/assignments/next").json()
    again = client.post("/api/v1/assignments/next")
    assert again.status_code == 200 and again.json()["id"] == first["id"]


def test_a_shift_takes_at_most_its_quota_of_clips(annotator, subject):
    team_of(annotator, max_clips_per_shift=2)
    for _ in range(4):
        queued_clip(subject)
    client = client_for(annotator)
    client.post("/api/v1/shifts")
    assert [work_one(client).status_code for _ in range(2)] == [200, 200]
    refused = client.post("/api/v1/assignments/next")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "quota_reached"
    assert "2 clips" in refused.json()["error"]["message"]
    assert Assignment.objects.filter(annotator=annotator).count() == 2
    progress = client.get("/api/v1/shifts/current").json()
    assert progress["clips_claimed"] == 2 and progress["max_clips"] == 2 and progress["clips_done"] == 2


def test_a_break_is_required_after_continuous_work_and_a_pause_counts_as_one(annotator, subject):
    team_of(annotator, break_after_minutes=120, break_minutes=10)
    for _ in range(4):
        queued_clip(subject)
    client = client_for(annotator)
    client.post("/api/v1/shifts")
    assert work_one(client).status_code == 200
    # Two hours of work with no pause as long as a break: the stretch began two hours ago.
    shift = shift_of(annotator)
    Shift.objects.filter(pk=shift.pk).update(started_at=shift.started_at - timedelta(hours=2),
                                             stretch_started_at=shift.stretch_started_at - timedelta(hours=2))
    refused = client.post("/api/v1/assignments/next")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "break_required"
    assert refused.json()["error"]["message"] == "Break time: next clip in 10 min."
    assert 590 <= int(refused["Retry-After"]) <= 600
    assert client.get("/api/v1/shifts/current").json()["break_due_at"] is not None
    # Seven minutes into the break: three to go.
    Shift.objects.filter(pk=shift.pk).update(last_active_at=timezone.now() - timedelta(minutes=7))
    assert client.post("/api/v1/assignments/next").json()["error"]["message"] == "Break time: next clip in 3 min."
    # After ten minutes without work the break is taken, and a new stretch begins.
    Shift.objects.filter(pk=shift.pk).update(last_active_at=timezone.now() - timedelta(minutes=10))
    assert work_one(client).status_code == 200
    shift.refresh_from_db()
    assert timezone.now() - shift.stretch_started_at < timedelta(minutes=1)


def test_shift_time_is_bounded_in_any_24_hours(annotator, subject):
    team_of(annotator, max_shift_minutes=480)
    for _ in range(2):
        queued_clip(subject)
    client = client_for(annotator)
    client.post("/api/v1/shifts")
    move_back(annotator, timedelta(hours=8))
    refused = client.post("/api/v1/assignments/next")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "shift_over"
    assert client.post("/api/v1/shifts/current/end").status_code == 200
    # Ending the shift and starting another does not reset the clock: rest comes first.
    rest = client.post("/api/v1/shifts")
    assert rest.status_code == 429 and rest.json()["error"]["code"] == "rest_required"
    # The 8 h began 8 h ago, so the first minutes of it leave the 24 h window in about 16 h.
    assert 15.9 * 3600 <= int(rest["Retry-After"]) <= 16.1 * 3600
    assert not Shift.objects.filter(annotator=annotator, ended_at__isnull=True).exists()


def test_a_short_earlier_shift_leaves_the_rest_of_the_day_to_work(annotator, subject):
    team_of(annotator, max_shift_minutes=480)
    queued_clip(subject)
    client = client_for(annotator)
    client.post("/api/v1/shifts")
    move_back(annotator, timedelta(hours=3))
    client.post("/api/v1/shifts/current/end")
    assert client.post("/api/v1/shifts").status_code == 201
    progress = client.get("/api/v1/shifts/current").json()
    assert 3 * 3600 - 5 <= progress["worked_seconds"] <= 3 * 3600 + 5 and progress["max_shift_seconds"] == 8 * 3600
    assert work_one(client).status_code == 200


def test_defaults_apply_outside_any_team(settings, annotator):
    client = client_for(annotator)
    client.post("/api/v1/shifts")
    progress = client.get("/api/v1/shifts/current").json()
    assert progress["max_clips"] == 400 and progress["max_shift_seconds"] == 8 * 3600
    assert progress["break_minutes"] == 10 and progress["break_due_at"] is None


def test_no_open_shift_has_no_progress(annotator):
    response = client_for(annotator).get("/api/v1/shifts/current")
    assert response.status_code == 404 and response.json()["error"]["code"] == "no_open_shift"
