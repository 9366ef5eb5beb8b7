"""Exposure to flagged content: a budget per shift, opt-outs per category, counted once per clip heard."""

import pytest

from labeling.models import Assignment, Clip, Shift
from tests.factories import claim, client_for, fetch_audio, make_subject, queued_clip, team_of

pytestmark = pytest.mark.django_db


def flagged_clip(subject, category="distressing", seconds=1.0):
    """A clip a supervisor returned to transcription after a flag: queued, still marked."""
    clip = queued_clip(subject, seconds=seconds)
    Clip.objects.filter(pk=clip.pk).update(flag_category=category)
    return clip


def hear_and_submit(client) -> Assignment | None:
    response = client.post("/api/v1/assignments/next")
    if response.status_code == 204:
        return None
    body = response.json()
    assert fetch_audio(client, body).status_code == 200
    assert client.post(f"/api/v1/assignments/{body['id']}/submit", {"text": "words"}, format="json").status_code == 200
    return Assignment.objects.select_related("clip").get(pk=body["id"])


def test_over_the_budget_no_flagged_clip_is_served(annotator):
    team_of(annotator, exposure_budget_minutes=1)
    # Three owners, so the linkability limit does not stand in the way.
    flagged_clips = [flagged_clip(make_subject(f"acct-{n}"), seconds=25.0) for n in range(3)]
    clean = queued_clip(make_subject("acct-clean"))
    client = client_for(annotator)
    client.post("/api/v1/shifts")

    heard = [hear_and_submit(client).clip_id for _ in range(3)]
    # 25 s, then 50 s: still under a minute, so flagged clips come; at 75 s the budget is spent.
    assert heard == [flagged_clips[0].id, flagged_clips[1].id, flagged_clips[2].id]
    assert Shift.objects.get(annotator=annotator).exposure_seconds == pytest.approx(75.0)

    flagged_clip(make_subject("acct-late"))
    assert hear_and_submit(client).clip_id == clean.id  # the flagged clip waits, the clean one is served
    assert hear_and_submit(client) is None


def test_a_clip_is_counted_once_however_often_it_is_played(annotator, subject):
    flagged_clip(subject, seconds=2.0)
    client = client_for(annotator)
    assignment = claim(client)
    for _ in range(3):
        assert fetch_audio(client, assignment).status_code == 200
    assert Shift.objects.get(annotator=annotator).exposure_seconds == pytest.approx(2.0)


def test_clean_clips_do_not_count(annotator, subject):
    queued_clip(subject, seconds=2.0)
    client = client_for(annotator)
    assert fetch_audio(client, claim(client)).status_code == 200
    assert Shift.objects.get(annotator=annotator).exposure_seconds == 0


def test_flagging_a_clip_you_heard_counts_it(settings, annotator, subject):
    queued_clip(subject, seconds=3.0)
    client = client_for(annotator)
    assignment = claim(client)
    fetch_audio(client, assignment)
    client.post(f"/api/v1/assignments/{assignment['id']}/escalate", {"category": "distressing"}, format="json")
    assert Shift.objects.get(annotator=annotator).exposure_seconds == pytest.approx(3.0)


def test_an_annotator_who_opted_out_of_a_category_never_gets_it(annotator, other_annotator):
    client = client_for(annotator)
    response = client.put("/api/v1/annotator/settings", {"opted_out_categories": ["self_harm", "distressing"]},
                          format="json")
    assert response.status_code == 200
    assert response.json()["opted_out_categories"] == ["self_harm", "distressing"]
    assert client.get("/api/v1/annotator/settings").json()["opted_out_categories"] == ["self_harm", "distressing"]

    distressing = flagged_clip(make_subject("acct-1"), "distressing")
    danger = flagged_clip(make_subject("acct-2"), "danger")
    client.post("/api/v1/shifts")
    assert hear_and_submit(client).clip_id == danger.id
    assert hear_and_submit(client) is None
    # Someone who did not opt out gets it.
    other = client_for(other_annotator)
    other.post("/api/v1/shifts")
    assert hear_and_submit(other).clip_id == distressing.id


def test_opt_outs_refuse_unknown_categories_and_keep_the_earlier_choice(annotator):
    client = client_for(annotator)
    client.put("/api/v1/annotator/settings", {"opted_out_categories": ["danger"]}, format="json")
    response = client.put("/api/v1/annotator/settings", {"opted_out_categories": ["danger", "gore"]}, format="json")
    assert response.status_code == 400
    assert client.get("/api/v1/annotator/settings").json()["opted_out_categories"] == ["danger"]
    assert client.put("/api/v1/annotator/settings", {"opted_out_categories": []},
                      format="json").json()["opted_out_categories"] == []
