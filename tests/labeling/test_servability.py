"""One servability rule on every path: a clip under a legal hold, or whose owner asked for its deletion,
reaches nobody (a held clip only the supervisor handling its escalation), whichever way it is asked for."""

from datetime import timedelta

import pytest
from django.utils import timezone

from labeling import servability
from labeling.custody.services import clips_delete
from labeling.exports.services import export_build
from labeling.models import Clip, ClipStatus, ExportJob, LegalHold, Project
from portal.services import consent_set
from tests.factories import (
    ask,
    claim,
    client_for,
    fetch_audio,
    flagged,
    label,
    make_gold,
    make_user,
    queued_clip,
    resolve,
)

pytestmark = pytest.mark.django_db

RESTRICTIONS = ("legal_hold", "deletion_requested")


def restrict(clip: Clip, how: str) -> None:
    """A hold placed on the clip, or its owner's deletion request pending (as while a hold is in force)."""
    now = timezone.now()
    if how == "legal_hold":
        LegalHold.objects.create(clip_id=clip.pk, reason="Court order 17/2026", created_by=make_user("counsel"),
                                 created_at=now, expires_at=now + timedelta(days=30))
    else:
        Clip.objects.filter(pk=clip.pk).update(deletion_requested_at=now)


def next_status(client) -> int:
    client.post("/api/v1/shifts")
    return client.post("/api/v1/assignments/next").status_code


def error_code(response) -> str:
    return response.json()["error"]["code"]


@pytest.mark.parametrize("how", RESTRICTIONS)
def test_the_claim_never_lends_a_restricted_clip(annotator, subject, how):
    clip = queued_clip(subject)
    restrict(clip, how)
    assert next_status(client_for(annotator)) == 204
    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.QUEUED


@pytest.mark.parametrize("how", RESTRICTIONS)
def test_prefetch_never_lends_a_restricted_clip(annotator, subject, how):
    queued_clip(subject, queued_at=timezone.now() - timedelta(minutes=1))
    ahead = queued_clip(subject)
    client = client_for(annotator)
    claim(client)
    restrict(ahead, how)
    assert client.post("/api/v1/assignments/prefetch").status_code == 204
    assert Clip.objects.get(pk=ahead.pk).status == ClipStatus.QUEUED


@pytest.mark.parametrize("how", RESTRICTIONS)
def test_audio_and_envelope_stop_once_the_clip_is_restricted(annotator, subject, how):
    clip = queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    assert fetch_audio(client, assignment).status_code == 200
    restrict(clip, how)
    refused = fetch_audio(client, assignment)
    assert refused.status_code == 410 and error_code(refused) == how
    peaks = client.get(f"/api/v1/assignments/{assignment['id']}/peaks?bins=50",
                       HTTP_X_AUDIO_TOKEN=assignment["audio_token"])
    assert peaks.status_code == 410


@pytest.mark.parametrize("how", RESTRICTIONS)
def test_a_second_opinion_about_a_restricted_clip_reaches_nobody(annotator, other_annotator, subject, how):
    clip = queued_clip(subject, seconds=2.0)
    asker = client_for(annotator)
    assignment = claim(asker)
    assert ask(asker, assignment, text="turn on the porch light").status_code == 201
    restrict(clip, how)
    assert next_status(client_for(other_annotator)) == 204


@pytest.mark.parametrize("how", RESTRICTIONS)
def test_a_restricted_gold_clip_reaches_nobody(annotator, other_annotator, supervisor, subject, how):
    queued_clip(subject)
    label(client_for(annotator))
    _, gold = make_gold(supervisor)
    Project.objects.filter(slug="default").update(gold_share=1.0)
    restrict(gold.clip, how)
    assert next_status(client_for(other_annotator)) == 204


@pytest.mark.parametrize("how", RESTRICTIONS)
def test_a_quality_review_never_picks_a_restricted_clip(annotator, supervisor, subject, how):
    clip = queued_clip(subject)
    label(client_for(annotator))
    restrict(clip, how)
    assert client_for(supervisor).post("/api/v1/projects/default/quality-reviews").status_code == 204


@pytest.mark.parametrize("how", RESTRICTIONS)
def test_a_supervisor_hears_a_restricted_clip_only_as_the_handler_of_its_hold(annotator, supervisor, subject, how):
    escalation_id, clip = flagged(annotator, subject)
    sup = client_for(supervisor)
    assert sup.post(f"/api/v1/escalations/{escalation_id}/claim").status_code == 200
    restrict(clip, how)
    listening = sup.post(f"/api/v1/escalations/{escalation_id}/listen")
    if how == "legal_hold":  # the supervisor handling the escalation is the one who may hear a held clip
        assert listening.status_code == 200, listening.content
        body = listening.json()
        assert fetch_audio(sup, {"id": body["assignment"], "audio_token": body["audio_token"]}).status_code == 200
    else:
        assert listening.status_code == 410 and error_code(listening) == how


@pytest.mark.parametrize("how", RESTRICTIONS)
def test_adjudication_listening_refuses_a_restricted_clip(annotator, other_annotator, supervisor, subject, how):
    clip = queued_clip(subject, seconds=2.0)
    asker = client_for(annotator)
    assignment = claim(asker)
    opinion = ask(asker, assignment, text="turn on the porch light").json()["id"]
    second = client_for(other_annotator)
    answer = claim(second)
    second.post(f"/api/v1/assignments/{answer['id']}/submit", {"text": "turn on the torch night"}, format="json")
    restrict(clip, how)
    listening = client_for(supervisor).post(f"/api/v1/second-opinions/{opinion}/listen")
    assert listening.status_code == 410 and error_code(listening) == how


@pytest.mark.parametrize("how", RESTRICTIONS)
def test_an_export_leaves_a_restricted_clip_out(annotator, supervisor, subject, how):
    kept, left = queued_clip(subject, queued_at=timezone.now() - timedelta(minutes=1)), queued_clip(subject)
    writer = client_for(annotator)
    label(writer, "lights off")
    label(writer, "lights on")
    restrict(left, how)
    client = client_for(supervisor)
    export_id = client.post("/api/v1/projects/default/exports", {}, format="json").json()["id"]
    assert export_build(export_id=export_id) == "done"
    job = ExportJob.objects.get(pk=export_id)
    assert job.exported == 1 and job.left_out == {how: 1}
    assert list(job.items.values_list("clip_id", flat=True)) == [kept.id]


@pytest.mark.parametrize("how", RESTRICTIONS)
def test_an_export_is_not_downloaded_once_a_clip_in_it_is_restricted(annotator, supervisor, subject, how):
    clip = queued_clip(subject)
    label(client_for(annotator), "lights off")
    client = client_for(supervisor)
    export_id = client.post("/api/v1/projects/default/exports", {}, format="json").json()["id"]
    assert export_build(export_id=export_id) == "done"
    restrict(clip, how)
    refused = client.get(f"/api/v1/exports/{export_id}/download")
    assert refused.status_code == 410 and error_code(refused) == "export_gone"
    assert ExportJob.objects.get(pk=export_id).state == "expired"
    assert client.get(f"/api/v1/exports/{export_id}/download").status_code in (409, 410)


def test_no_action_never_requeues_a_clip_under_a_hold_its_owner_asked_to_delete(annotator, other_annotator,
                                                                               supervisor, subject):
    """The owner deletes a clip under a legal hold and is told nobody reviews it; a supervisor then
    records "no action" on its escalation: it must not go back to the queue."""
    escalation_id, clip = flagged(annotator, subject)
    sup = client_for(supervisor)
    assert sup.post(f"/api/v1/escalations/{escalation_id}/hold", {"reason": "Police request ref 44/2026", "days": 30},
                    format="json").status_code == 201
    receipt = clips_delete(account=subject, clip_id=clip.id)
    assert receipt.items[0]["status"] == "deleted_when_hold_ends"
    assert resolve(supervisor, escalation_id, outcome="no_action", reason="Nothing to report.").status_code == 200
    clip.refresh_from_db()
    assert clip.status == ClipStatus.ESCALATED and clip.deletion_requested_at is not None
    assert next_status(client_for(other_annotator)) == 204


def test_no_action_under_a_hold_alone_keeps_the_clip_out_of_the_queue(annotator, other_annotator, supervisor,
                                                                     subject):
    escalation_id, clip = flagged(annotator, subject)
    assert client_for(supervisor).post(f"/api/v1/escalations/{escalation_id}/hold",
                                       {"reason": "Police request ref 45/2026", "days": 30},
                                       format="json").status_code == 201
    assert resolve(supervisor, escalation_id, outcome="no_action", reason="Nothing to report.").status_code == 200
    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.ESCALATED
    assert next_status(client_for(other_annotator)) == 204


def test_no_action_without_a_hold_puts_the_clip_back(annotator, other_annotator, supervisor, subject):
    escalation_id, clip = flagged(annotator, subject)
    assert resolve(supervisor, escalation_id, outcome="no_action", reason="Nothing to report.").status_code == 200
    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.QUEUED


def test_an_expired_hold_restricts_nothing(annotator, subject):
    clip = queued_clip(subject)
    now = timezone.now()
    LegalHold.objects.create(clip_id=clip.pk, reason="Ended", created_by=make_user("counsel"),
                             created_at=now - timedelta(days=40), expires_at=now - timedelta(days=10))
    assert next_status(client_for(annotator)) == 200


def test_the_rule_spelled_for_one_clip_and_for_many_agrees(annotator, subject):
    """refusal() for one clip and refusals() over a query decide alike for every reason."""
    now = timezone.now()
    clips = {name: queued_clip(subject) for name in ("open", "legal_hold", "deletion_requested", "state")}
    restrict(clips["legal_hold"], "legal_hold")
    restrict(clips["deletion_requested"], "deletion_requested")
    Clip.objects.filter(pk=clips["state"].pk).update(status=ClipStatus.LABELED)
    many = servability.refusals(Clip.objects.filter(pk__in=[c.pk for c in clips.values()]), servability.LEND,
                                now=now)
    for name, clip in clips.items():
        one = servability.refusal(Clip.objects.get(pk=clip.pk), servability.LEND, now=now)
        assert one == many.get(clip.pk) == (None if name == "open" else name)


def test_a_held_clip_keeps_its_audio_through_revocation_whatever_its_state(annotator, other_annotator, supervisor,
                                                                           subject, store):
    """A hold placed on an escalation already resolved "no action" (the clip back in the queue): the
    owner's revocation takes the clip out of review but may not destroy what the hold keeps."""
    escalation_id, clip = flagged(annotator, subject)
    assert resolve(supervisor, escalation_id, outcome="no_action", reason="Nothing to report.").status_code == 200
    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.QUEUED
    assert client_for(supervisor).post(f"/api/v1/escalations/{escalation_id}/hold",
                                       {"reason": "Police request ref 46/2026", "days": 30},
                                       format="json").status_code == 201
    consent_set(account=subject, granted=False, channel="portal")
    clip.refresh_from_db()
    assert clip.wrapped_key is not None and clip.deid_path and store.files()
    assert clip.status == ClipStatus.WITHDRAWN
    assert next_status(client_for(other_annotator)) == 204


def test_the_escalation_texts_follow_the_rule_like_its_audio(annotator, supervisor, subject):
    escalation_id, clip = flagged(annotator, subject)
    sup = client_for(supervisor)
    assert sup.post(f"/api/v1/escalations/{escalation_id}/hold", {"reason": "Police request ref 47/2026", "days": 30},
                    format="json").status_code == 201
    assert sup.post(f"/api/v1/escalations/{escalation_id}/claim").status_code == 200
    assert sup.get(f"/api/v1/escalations/{escalation_id}").status_code == 200  # its handler, under the hold
    consent_set(account=subject, granted=False, channel="portal")
    detail = sup.get(f"/api/v1/escalations/{escalation_id}")
    assert detail.status_code == 410 and "help me please" not in detail.content.decode()
    assert sup.post(f"/api/v1/escalations/{escalation_id}/listen").status_code == 410


def test_second_opinion_readings_follow_the_rule_like_the_stretch(settings, annotator, other_annotator, supervisor,
                                                                  subject):
    settings.REVOCATION_DELETES = False
    queued_clip(subject, seconds=2.0)
    asker = client_for(annotator)
    assignment = claim(asker)
    opinion = ask(asker, assignment, text="turn on the porch light").json()["id"]
    asker.post(f"/api/v1/assignments/{assignment['id']}/submit", {"text": "turn on the porch light"}, format="json")
    second = client_for(other_annotator)
    answer = claim(second)
    second.post(f"/api/v1/assignments/{answer['id']}/submit", {"text": "turn on the torch night"}, format="json")
    sup = client_for(supervisor)
    assert sup.get(f"/api/v1/second-opinions/{opinion}").status_code == 200
    consent_set(account=subject, granted=False, channel="portal")
    refused = sup.get(f"/api/v1/second-opinions/{opinion}")
    assert refused.status_code == 410 and "torch night" not in refused.content.decode()
