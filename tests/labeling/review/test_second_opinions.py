"""Second opinions: another annotator hears the stretch blind; agreement settles it, disagreement
goes to a supervisor; nothing leaves the platform."""

import pytest

from consent.models import LedgerEntry
from labeling.models import Assignment, Clip, ClipStatus, SecondOpinion
from tests.factories import ask, claim, client_for, fetch_audio, make_user, queued_clip

pytestmark = pytest.mark.django_db

FIRST_READING = "turn on the porch light"


@pytest.fixture
def asked(annotator, subject):
    """The annotator holds a 2 s clip and asked about 0.5-1.5 s."""
    clip = queued_clip(subject, seconds=2.0)
    Clip.objects.filter(pk=clip.pk).update(draft_transcript="turn on the [NAME] light")
    client = client_for(annotator)
    assignment = claim(client)
    response = ask(client, assignment)
    assert response.status_code == 201, response.content
    return client, assignment, response.json()["id"]


def test_the_second_annotator_hears_the_stretch_blind_and_agreement_settles_it(asked, other_annotator):
    asker, _, opinion_id = asked
    second = client_for(other_annotator)
    response = second.post("/api/v1/shifts") and second.post("/api/v1/assignments/next")
    body = response.json()
    assert body["purpose"] == "second_opinion"
    assert body["range"] == {"start_seconds": 0.5, "end_seconds": 1.5}
    assert body["draft"] == ""  # neither the first reading nor the recognizer's draft
    assert FIRST_READING not in response.content.decode()
    assert fetch_audio(second, body).status_code == 200

    submitted = second.post(f"/api/v1/assignments/{body['id']}/submit", {"text": "Turn on the porch light."},
                            format="json")
    assert submitted.status_code == 200
    opinion = SecondOpinion.objects.get(pk=opinion_id)
    assert opinion.state == "agreed" and opinion.difference == 0
    mine = asker.get("/api/v1/second-opinions/mine").json()
    assert mine[0]["state"] == "agreed" and mine[0]["settled_text"] == "Turn on the porch light."
    # The answer neither labels nor returns the asker's clip: it is still theirs to submit.
    assert Clip.objects.get().status == ClipStatus.ASSIGNED
    purposes = set(LedgerEntry.objects.filter(actor_id=other_annotator.pk, clip_id__isnull=False)
                   .values_list("detail__purpose", flat=True))
    assert purposes == {"second_opinion"}


def test_disagreement_goes_to_a_supervisor_who_decides(asked, other_annotator, supervisor):
    asker, _, opinion_id = asked
    second = client_for(other_annotator)
    body = claim(second)
    second.post(f"/api/v1/assignments/{body['id']}/submit", {"text": "turn on the torch night"}, format="json")
    assert SecondOpinion.objects.get(pk=opinion_id).state == "adjudication"

    sup = client_for(supervisor)
    assert [item["id"] for item in sup.get("/api/v1/second-opinions").json()] == [opinion_id]
    detail = sup.get(f"/api/v1/second-opinions/{opinion_id}").json()
    assert (detail["first_text"], detail["answer_text"]) == (FIRST_READING, "turn on the torch night")
    listening = sup.post(f"/api/v1/second-opinions/{opinion_id}/listen").json()
    assert fetch_audio(sup, {"id": listening["assignment"], "audio_token": listening["audio_token"]}).status_code == 200
    assert sup.post(f"/api/v1/second-opinions/{opinion_id}/adjudicate", {"text": " "},
                    format="json").status_code == 400
    decided = sup.post(f"/api/v1/second-opinions/{opinion_id}/adjudicate", {"text": "turn on the porch light"},
                       format="json")
    assert decided.json()["state"] == "adjudicated"
    assert asker.get("/api/v1/second-opinions/mine").json()[0]["settled_text"] == "turn on the porch light"
    assert sup.get("/api/v1/second-opinions").json() == []
    views = LedgerEntry.objects.filter(actor_id=supervisor.pk, action="transcript_view")
    assert [v.detail["purpose"] for v in views] == ["adjudication"]


def test_nobody_answers_their_own_question_or_a_clip_they_had(asked, annotator, other_annotator, subject):
    asker, assignment, opinion_id = asked
    asker.post(f"/api/v1/assignments/{assignment['id']}/submit", {"text": "done"}, format="json")
    # The asker's next claim finds no other clip: their own question is not lent to them.
    assert asker.post("/api/v1/assignments/next").status_code == 204
    assert SecondOpinion.objects.get(pk=opinion_id).state == "pending"


def test_a_skipped_second_opinion_goes_to_someone_else(asked, other_annotator):
    _, _, opinion_id = asked
    second = client_for(other_annotator)
    body = claim(second)
    second.post(f"/api/v1/assignments/{body['id']}/skip")
    assert SecondOpinion.objects.get(pk=opinion_id).state == "pending"
    assert second.post("/api/v1/assignments/next").status_code == 204  # not to the one who skipped it
    third = client_for(make_user("ann-3", "annotator"))
    assert claim(third)["purpose"] == "second_opinion"


def test_the_asker_still_submits_their_clip(asked, other_annotator):
    asker, assignment, _ = asked
    second = client_for(other_annotator)
    body = claim(second)
    second.post(f"/api/v1/assignments/{body['id']}/submit", {"text": FIRST_READING}, format="json")
    assert asker.post(f"/api/v1/assignments/{assignment['id']}/submit", {"text": "all of it"},
                      format="json").status_code == 200
    assert Clip.objects.get().status == ClipStatus.LABELED


@pytest.mark.parametrize("start,end,code", [(1.5, 0.5, "invalid_range"), (0.0, 2.5, "invalid_range"),
                                            (-1.0, 1.0, None)])
def test_a_question_needs_a_stretch_inside_the_clip(annotator, subject, start, end, code):
    queued_clip(subject, seconds=2.0)
    client = client_for(annotator)
    response = ask(client, claim(client), start, end)
    assert response.status_code == 400
    if code:
        assert response.json()["error"]["code"] == code
    assert not SecondOpinion.objects.exists()


def test_a_question_about_a_clip_withdrawn_meanwhile_is_cancelled(asked, subject, other_annotator):
    from portal.services import consent_set

    _, _, opinion_id = asked
    consent_set(account=subject, granted=False, channel="portal")
    assert SecondOpinion.objects.get(pk=opinion_id).state == "cancelled"
    second = client_for(other_annotator)
    second.post("/api/v1/shifts")
    assert second.post("/api/v1/assignments/next").status_code == 204
    assert not Assignment.objects.filter(annotator=other_annotator).exists()


def test_withdrawal_cancels_questions_about_clips_already_transcribed(asked, subject):
    from portal.services import consent_set

    asker, assignment, opinion_id = asked
    asker.post(f"/api/v1/assignments/{assignment['id']}/submit", {"text": "done"}, format="json")
    consent_set(account=subject, granted=False, channel="portal")
    assert SecondOpinion.objects.get(pk=opinion_id).state == "cancelled"
