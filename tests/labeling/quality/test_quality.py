"""Gold clips and agreement: a supervisor makes a heard clip gold, gold clips reach annotators
unmarked and score them, sampled clips are transcribed twice blind, and the numbers come from real
submissions."""

import pytest

from consent.models import LedgerEntry
from labeling.custody.services import clips_delete
from labeling.models import (
    Assignment,
    Clip,
    ClipStatus,
    GoldClip,
    GoldResult,
    OpinionKind,
    Project,
    SecondOpinion,
    SecondOpinionState,
    Transcript,
)
from tests.factories import claim, client_for, fetch_audio, label, make_gold, make_user, queued_clip

pytestmark = pytest.mark.django_db


@pytest.fixture
def default_project():
    return Project.objects.get(slug="default")


def test_a_supervisor_hears_a_labeled_clip_and_makes_it_gold(annotator, supervisor, subject):
    clip = queued_clip(subject)
    Clip.objects.filter(pk=clip.pk).update(draft_transcript="turn on the [NAME] light")
    label(client_for(annotator), "turn on the porch lights")
    body, gold = make_gold(supervisor)
    assert body["text"] == "turn on the porch lights"  # what the annotator wrote, to compare with what is heard
    assert gold.clip_id == clip.id and gold.reference_text == "turn on the porch light"
    purposes = set(LedgerEntry.objects.filter(clip_id=clip.id, actor_id=supervisor.pk)
                   .values_list("detail__purpose", flat=True))
    assert purposes == {"quality_review"}
    # Nothing left to review: the only labeled clip is gold.
    assert client_for(supervisor).post("/api/v1/projects/default/quality-reviews").status_code == 204


def test_gold_clips_reach_annotators_unmarked_and_score_them(annotator, other_annotator, supervisor, subject,
                                                             default_project):
    clip = queued_clip(subject)
    Clip.objects.filter(pk=clip.pk).update(draft_transcript="turn on the [NAME] light")
    label(client_for(annotator))
    make_gold(supervisor)
    default_project.gold_share = 1.0
    default_project.save()
    fresh = queued_clip(subject)

    other = client_for(other_annotator)
    served = claim(other)
    assert Assignment.objects.get(pk=served["id"]).clip_id == clip.id
    # It looks like any clip: same purpose, the recognizer's draft, no range, audio as usual.
    assert served["purpose"] == "transcription" and served["range"] is None
    assert served["draft"] == "turn on the [NAME] light"
    assert fetch_audio(other, served).status_code == 200
    assert other.post(f"/api/v1/assignments/{served['id']}/submit", {"text": "turn on the perch light"},
                      format="json").status_code == 200
    result = GoldResult.objects.get()
    assert result.annotator == other_annotator and result.word_error_rate == pytest.approx(0.2)
    assert Transcript.objects.filter(clip=clip).count() == 1  # a gold answer is a score, not a label
    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.LABELED
    # Gold is served once per annotator: the next clip is a new one.
    assert Assignment.objects.get(pk=claim(other)["id"]).clip_id == fresh.id

    quality = client_for(supervisor).get("/api/v1/projects/default/quality").json()
    assert quality["accuracy"] == [{"annotator": "ann-2", "gold_clips": 1, "word_error_rate": pytest.approx(0.2)}]


def test_a_sampled_clip_is_transcribed_twice_blind_and_agreement_is_measured(annotator, other_annotator, supervisor,
                                                                             subject, default_project):
    default_project.agreement_share = 1.0
    default_project.save()
    clip = queued_clip(subject, seconds=2.0)
    Clip.objects.filter(pk=clip.pk).update(draft_transcript="set a timer for ten minutes")
    first = client_for(annotator)
    label(first, "set a timer for ten minutes")
    sample = SecondOpinion.objects.get(clip=clip)
    assert sample.kind == OpinionKind.AGREEMENT and (sample.start_seconds, sample.end_seconds) == (0.0, 2.0)
    assert first.get("/api/v1/second-opinions/mine").json() == []  # blind to the first annotator too

    second = client_for(other_annotator)
    served = claim(second)
    assert Assignment.objects.get(pk=served["id"]).clip_id == clip.id
    assert served["purpose"] == "transcription" and served["range"] is None
    assert served["draft"] == "set a timer for ten minutes"  # the recognizer's draft, never the first reading
    second.post(f"/api/v1/assignments/{served['id']}/submit", {"text": "set a timer for two minutes"}, format="json")
    sample.refresh_from_db()
    assert sample.difference == pytest.approx(1 / 6) and sample.state == SecondOpinionState.AGREED

    quality = client_for(supervisor).get("/api/v1/projects/default/quality").json()
    assert quality["agreement"] == {"samples": 1, "word_error_rate": pytest.approx(1 / 6), "over_limit": 0,
                                    "waiting": 0}


def test_readings_too_far_apart_go_to_a_supervisor_who_settles_them(annotator, other_annotator, supervisor,
                                                                     subject, default_project):
    default_project.agreement_share = 1.0
    default_project.save()
    queued_clip(subject)
    label(client_for(annotator), "call mum")
    second = client_for(other_annotator)
    served = claim(second)
    second.post(f"/api/v1/assignments/{served['id']}/submit", {"text": "play some jazz"}, format="json")
    boss = client_for(supervisor)
    listed = boss.get("/api/v1/second-opinions").json()
    assert [item["kind"] for item in listed] == ["agreement"]
    assert boss.post(f"/api/v1/second-opinions/{listed[0]['id']}/adjudicate", {"text": "call mum"},
                     format="json").status_code == 200
    assert SecondOpinion.objects.get().adjudicated_text == "call mum"
    agreement = boss.get("/api/v1/projects/default/quality").json()["agreement"]
    assert agreement["samples"] == 1 and agreement["over_limit"] == 1 and agreement["word_error_rate"] > 0.2


def test_only_the_projects_supervisors_see_its_quality_or_make_gold(annotator, supervisor, subject):
    outsider = make_user("sup-elsewhere", "supervisor")
    Project.objects.create(slug="other", name="Other")
    for path in ("/api/v1/projects/other/quality", ):
        assert client_for(supervisor).get(path).status_code == 404
    assert client_for(outsider).get("/api/v1/projects/default/quality").status_code == 200
    assert client_for(annotator).get("/api/v1/projects/default/quality").status_code == 403
    assert client_for(supervisor).post("/api/v1/projects/other/quality-reviews").status_code == 404
    bad = client_for(supervisor).get("/api/v1/projects/default/quality?days=0")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_days"


def test_a_gold_clip_goes_with_its_owners_deletion_and_its_scores_stay(annotator, other_annotator, supervisor,
                                                                       subject, default_project):
    queued_clip(subject)
    label(client_for(annotator))
    make_gold(supervisor)
    default_project.gold_share = 1.0
    default_project.save()
    served = claim(client_for(other_annotator))
    client_for(other_annotator).post(f"/api/v1/assignments/{served['id']}/submit", {"text": "porch light"},
                                     format="json")
    clips_delete(account=subject)
    assert not GoldClip.objects.exists()
    assert GoldResult.objects.get().gold is None


def test_a_gold_clip_of_an_owner_who_withdrew_reaches_nobody(annotator, other_annotator, supervisor, subject,
                                                             default_project, settings):
    settings.REVOCATION_DELETES = False
    queued_clip(subject)
    label(client_for(annotator))
    make_gold(supervisor)
    default_project.gold_share = 1.0
    default_project.save()
    client_for(subject.user, verified=False).put("/api/v1/me/consent", {"human_review": False}, format="json")
    other = client_for(other_annotator)
    other.post("/api/v1/shifts")
    assert other.post("/api/v1/assignments/next").status_code == 204
