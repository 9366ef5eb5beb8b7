"""The next clip claimed ahead (standby) so the editor moves on at once: fetched early, worked on
only after the current clip, released with it when the work stops."""

import pytest

from labeling.models import Assignment, AssignmentState, Clip, ClipStatus
from portal.services import consent_set
from tests.factories import claim, client_for, fetch_audio, make_subject, queued_clip

pytestmark = pytest.mark.django_db


@pytest.fixture
def working(annotator, subject):
    """An annotator on the first of two queued clips, the second claimed ahead."""
    first, second = queued_clip(subject), queued_clip(subject)
    client = client_for(annotator)
    current = claim(client)
    ahead = client.post("/api/v1/assignments/prefetch")
    assert ahead.status_code == 200, ahead.content
    return client, current, ahead.json(), first, second


def test_the_clip_ahead_is_fetched_early_and_becomes_the_next_at_submit(working):
    client, current, ahead, first, second = working
    assert Assignment.objects.get(pk=ahead["id"]).clip_id == second.id
    assert client.post("/api/v1/assignments/prefetch").json()["id"] == ahead["id"]  # one at most
    assert fetch_audio(client, ahead).status_code == 200
    assert client.get(f"/api/v1/assignments/{ahead['id']}/peaks", HTTP_X_AUDIO_TOKEN=ahead["audio_token"]
                      ).status_code == 200
    for refused in (client.post(f"/api/v1/assignments/{ahead['id']}/submit", {"text": "too soon"}, format="json"),
                    client.put(f"/api/v1/assignments/{ahead['id']}/draft", {"text": "too soon"}, format="json"),
                    client.post(f"/api/v1/assignments/{ahead['id']}/skip")):
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "next_in_line"
    assert client.post("/api/v1/assignments/next").json()["id"] == current["id"]  # still the current one
    body = client.post(f"/api/v1/assignments/{current['id']}/submit", {"text": "one", "next": True},
                       format="json").json()
    assert body["next"]["id"] == ahead["id"] and body["next"]["audio_token"] == ahead["audio_token"]
    promoted = Assignment.objects.get(pk=ahead["id"])
    assert not promoted.standby and promoted.state == AssignmentState.OPEN
    assert client.post(f"/api/v1/assignments/{ahead['id']}/submit", {"text": "two"}, format="json").status_code == 200
    assert Clip.objects.filter(status=ClipStatus.LABELED).count() == 2


def test_skipping_moves_on_to_the_clip_ahead(working):
    client, current, ahead, first, _ = working
    client.post(f"/api/v1/assignments/{current['id']}/skip")
    assert client.post("/api/v1/assignments/next").json()["id"] == ahead["id"]
    assert Clip.objects.get(pk=first.pk).status == ClipStatus.QUEUED


@pytest.mark.parametrize("stop", ["flag", "end_shift"])
def test_the_clip_ahead_goes_back_when_the_work_stops(working, stop):
    client, current, ahead, _, second = working
    if stop == "flag":
        client.post(f"/api/v1/assignments/{current['id']}/escalate", {"category": "distressing"}, format="json")
    else:
        client.post("/api/v1/shifts/current/end")
    assert Assignment.objects.get(pk=ahead["id"]).state == AssignmentState.RELEASED
    assert Clip.objects.get(pk=second.pk).status == ClipStatus.QUEUED


def test_a_withdrawn_clip_ahead_is_never_handed_over(working, subject):
    client, current, ahead, _, _ = working
    later = queued_clip(make_subject("acct-later", "Ines"))
    consent_set(account=subject, granted=False, channel="portal")
    assert fetch_audio(client, ahead).status_code == 410
    body = client.post(f"/api/v1/assignments/{current['id']}/submit", {"text": "x", "next": True}, format="json")
    assert body.status_code == 410  # the current clip was the same owner's
    fresh = client.post("/api/v1/assignments/next").json()
    assert fresh["id"] != ahead["id"] and Assignment.objects.get(pk=fresh["id"]).clip_id == later.id


def test_nothing_is_claimed_ahead_without_a_current_clip_or_against_the_pace(annotator, subject, settings):
    queued_clip(subject)
    queued_clip(subject)
    client = client_for(annotator)
    client.post("/api/v1/shifts")
    alone = client.post("/api/v1/assignments/prefetch")
    assert alone.status_code == 409 and alone.json()["error"]["code"] == "no_current_clip"
    settings.WORK_MIN_CLAIM_INTERVAL_SECONDS = 5
    claim(client)
    paced = client.post("/api/v1/assignments/prefetch")
    assert paced.status_code == 429 and int(paced["Retry-After"]) >= 1
