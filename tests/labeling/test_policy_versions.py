"""A material change of the review policy: consent given under an earlier version stops counting for
human review on every path (claim, prefetch, audio and envelope, second opinions, gold, supervisors,
exports) until the owner confirms the new text; a change that is not material changes nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from consent.models import PolicyVersion
from labeling import servability
from labeling.exports.services import export_build
from labeling.models import Assignment, AssignmentState, Clip, ClipStatus, ExportJob, Project
from portal.services import consent_set
from tests.factories import (
    ask,
    claim,
    client_for,
    fetch_audio,
    flagged,
    label,
    make_gold,
    make_subject,
    metadata,
    policy_published,
    queued_clip,
    resolve,
    upload,
)

pytestmark = pytest.mark.django_db


def next_status(client) -> int:
    client.post("/api/v1/shifts")
    return client.post("/api/v1/assignments/next").status_code


def error_code(response) -> str:
    return response.json()["error"]["code"]


def confirm(account, version: str) -> None:
    consent_set(account=account, granted=True, channel="portal", policy_version=version)


def test_a_material_change_keeps_the_owners_clips_from_the_claim_until_they_confirm(annotator, subject):
    clip = queued_clip(subject)
    policy_published("2027-03", material=True)
    client = client_for(annotator)
    assert next_status(client) == 204
    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.QUEUED  # kept, with its audio, for the owner's word
    confirm(subject, "2027-03")
    assert claim(client)["id"]
    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.ASSIGNED


def test_a_change_that_is_not_material_keeps_consent_counting(annotator, subject):
    queued_clip(subject)
    policy_published("2027-03", material=False)
    assert servability.consent_refusal(account_id=subject.id) is None
    assert next_status(client_for(annotator)) == 200


def test_only_the_owners_who_confirmed_are_heard(annotator, subject):
    """Two owners, one confirms: the claim passes over the other's older clip to lend the confirmed one's."""
    waiting = queued_clip(subject, queued_at=timezone.now() - timedelta(minutes=5))
    other = make_subject("acct-2209", first_name="Ilse")
    confirmed = queued_clip(other)
    policy_published("2027-03", material=True)
    confirm(other, "2027-03")
    client = client_for(annotator)
    claim(client)
    assert Clip.objects.get(pk=confirmed.pk).status == ClipStatus.ASSIGNED
    assert Clip.objects.get(pk=waiting.pk).status == ClipStatus.QUEUED


def test_a_later_change_that_is_not_material_does_not_excuse_the_material_one(annotator, subject):
    queued_clip(subject)
    policy_published("2027-03", material=True)
    policy_published("2027-04", material=False)
    assert next_status(client_for(annotator)) == 204
    confirm(subject, "2027-04")  # the current text, which carries the material change on
    assert next_status(client_for(annotator)) == 200


def test_an_open_assignment_stops_being_servable_at_a_material_change(annotator, other_annotator, subject):
    clip = queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    assert fetch_audio(client, assignment).status_code == 200
    policy_published("2027-03", material=True)
    refused = fetch_audio(client, assignment)
    assert refused.status_code == 410 and error_code(refused) == "policy_unconfirmed"
    peaks = client.get(f"/api/v1/assignments/{assignment['id']}/peaks?bins=50",
                       HTTP_X_AUDIO_TOKEN=assignment["audio_token"])
    assert peaks.status_code == 410 and error_code(peaks) == "policy_unconfirmed"
    submitted = client.post(f"/api/v1/assignments/{assignment['id']}/submit", {"text": "lights on"}, format="json")
    assert submitted.status_code == 410 and error_code(submitted) == "policy_unconfirmed"
    assert Assignment.objects.get(pk=assignment["id"]).state == AssignmentState.POLICY_CHANGED
    clip.refresh_from_db()
    assert clip.status == ClipStatus.QUEUED and clip.wrapped_key is not None  # back in its place, audio kept
    # The annotator moves on; the clip waits for its owner, then goes to someone else.
    assert next_status(client) == 204
    confirm(subject, "2027-03")
    assert next_status(client) == 204  # never the same clip twice to one annotator
    assert next_status(client_for(other_annotator)) == 200


def test_the_rule_refuses_the_audio_even_to_an_assignment_the_change_did_not_close(annotator, subject):
    """A claim that raced the publication keeps its assignment open: the audio endpoint asks the rule
    itself and refuses."""
    queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    PolicyVersion.objects.create(version="2027-03", text="New terms.", material=True, number=99,
                                 published_at=timezone.now())
    assert Assignment.objects.get(pk=assignment["id"]).state == AssignmentState.OPEN
    refused = fetch_audio(client, assignment)
    assert refused.status_code == 410 and error_code(refused) == "policy_unconfirmed"
    assert "not yet confirmed" in refused.json()["error"]["message"]


def test_prefetch_passes_over_an_unconfirmed_owners_clip(annotator, subject):
    other = make_subject("acct-2209", first_name="Ilse")
    queued_clip(other, queued_at=timezone.now() - timedelta(minutes=1))
    ahead = queued_clip(subject)
    policy_published("2027-03", material=True)
    confirm(other, "2027-03")
    client = client_for(annotator)
    claim(client)
    assert client.post("/api/v1/assignments/prefetch").status_code == 204
    assert Clip.objects.get(pk=ahead.pk).status == ClipStatus.QUEUED


def test_a_second_opinion_on_an_unconfirmed_owners_clip_reaches_nobody(annotator, other_annotator, subject):
    queued_clip(subject, seconds=2.0)
    asker = client_for(annotator)
    assignment = claim(asker)
    assert ask(asker, assignment, text="turn on the porch light").status_code == 201
    policy_published("2027-03", material=True)
    assert next_status(client_for(other_annotator)) == 204
    confirm(subject, "2027-03")
    assert next_status(client_for(other_annotator)) == 200


def test_an_unconfirmed_owners_gold_clip_reaches_nobody(annotator, other_annotator, supervisor, subject):
    queued_clip(subject)
    label(client_for(annotator))
    make_gold(supervisor)
    Project.objects.filter(slug="default").update(gold_share=1.0)
    policy_published("2027-03", material=True)
    assert next_status(client_for(other_annotator)) == 204
    assert client_for(supervisor).post("/api/v1/projects/default/quality-reviews").status_code == 204


def test_supervisors_neither_hear_nor_read_an_escalation_of_an_unconfirmed_owner(annotator, supervisor, subject):
    escalation_id, clip = flagged(annotator, subject)
    sup = client_for(supervisor)
    assert sup.post(f"/api/v1/escalations/{escalation_id}/claim").status_code == 200
    policy_published("2027-03", material=True)
    listening = sup.post(f"/api/v1/escalations/{escalation_id}/listen")
    assert listening.status_code == 410 and error_code(listening) == "policy_unconfirmed"
    detail = sup.get(f"/api/v1/escalations/{escalation_id}")
    assert detail.status_code == 410 and "help me please" not in detail.content.decode()
    # "No action" puts the clip back in the queue, where it waits for its owner's confirmation.
    assert resolve(supervisor, escalation_id, outcome="no_action", reason="Nothing to report.").status_code == 200
    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.QUEUED
    assert servability.refusal(Clip.objects.get(pk=clip.pk), servability.LEND, now=timezone.now()) == "policy"


def test_an_export_leaves_out_the_clips_of_owners_who_did_not_confirm(annotator, supervisor, subject):
    other = make_subject("acct-2209", first_name="Ilse")
    left = queued_clip(subject, queued_at=timezone.now() - timedelta(minutes=1))
    kept = queued_clip(other)
    writer = client_for(annotator)
    label(writer, "lights off")
    label(writer, "lights on")
    policy_published("2027-03", material=True)
    confirm(other, "2027-03")
    client = client_for(supervisor)
    export_id = client.post("/api/v1/projects/default/exports", {}, format="json").json()["id"]
    assert export_build(export_id=export_id) == "done"
    job = ExportJob.objects.get(pk=export_id)
    assert job.exported == 1 and job.left_out == {"policy_unconfirmed": 1}
    assert list(job.items.values_list("clip_id", flat=True)) == [kept.id]
    assert left.id not in set(job.items.values_list("clip_id", flat=True))


def test_an_export_made_before_the_change_is_not_downloaded_after_it(annotator, supervisor, subject):
    queued_clip(subject)
    label(client_for(annotator), "lights off")
    client = client_for(supervisor)
    export_id = client.post("/api/v1/projects/default/exports", {}, format="json").json()["id"]
    assert export_build(export_id=export_id) == "done"
    policy_published("2027-03", material=True)
    refused = client.get(f"/api/v1/exports/{export_id}/download")
    assert refused.status_code == 410 and error_code(refused) == "export_gone"


def test_new_clips_of_an_owner_who_has_not_confirmed_are_kept_for_review_not_heard(device_client, speech_wav,
                                                                                 subject):
    """The gentlest choice: the owner did say yes once, so their recordings are kept for when they
    confirm; nobody hears them before."""
    policy_published("2027-03", material=True)
    response = upload(device_client, speech_wav, metadata())
    assert response.status_code == 202 and response.json()["status"] == "received"
    clip = Clip.objects.get(pk=response.json()["id"])
    assert servability.consent_refusal(account_id=clip.account_id) == "policy"


def test_a_revoked_owner_is_not_counted_as_waiting_for_confirmation(subject):
    policy_published("2027-03", material=True)
    consent_set(account=subject, granted=False, channel="portal")
    assert servability.consent_refusal(account_id=subject.id) == "consent"


def test_the_rule_spelled_for_one_clip_and_for_many_agrees_on_the_policy(annotator, subject):
    other = make_subject("acct-2209", first_name="Ilse")
    clips = {"policy": queued_clip(subject), None: queued_clip(other)}
    policy_published("2027-03", material=True)
    confirm(other, "2027-03")
    now = timezone.now()
    many = servability.refusals(Clip.objects.filter(pk__in=[c.pk for c in clips.values()]), servability.LEND,
                                now=now)
    for reason, clip in clips.items():
        assert servability.refusal(Clip.objects.get(pk=clip.pk), servability.LEND, now=now) == many.get(clip.pk) \
            == reason
