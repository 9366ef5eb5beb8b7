"""A flagged clip's path: annotator's flag, the supervisors' queue, a claimed review with the
transcript first, a recorded outcome; legal holds; the pause after a flag."""

from datetime import timedelta

import pytest
from django.utils import timezone

from consent.models import LedgerEntry
from labeling.models import Assignment, AssignmentState, Clip, ClipStatus, Escalation, LegalHold, Shift, Transcript
from portal.services import consent_set
from tests.factories import (
    claim,
    client_for,
    fetch_audio,
    flag,
    flagged,
    make_subject,
    make_user,
    queued_clip,
    resolve,
)

pytestmark = pytest.mark.django_db


def end_pause(user):
    Shift.objects.filter(annotator=user, ended_at__isnull=True).update(flag_break_until=None)


def ledger_steps(clip_id):
    return [(e.action, e.detail.get("step"), e.detail.get("outcome")) for e in
            LedgerEntry.objects.filter(clip_id=clip_id).order_by("id")]


def test_a_flag_takes_the_clip_to_the_supervisors_and_nobody_else_gets_it(annotator, other_annotator, supervisor,
                                                                          subject):
    escalation_id, clip = flagged(annotator, subject)
    clip.refresh_from_db()
    assert clip.status == ClipStatus.ESCALATED and clip.flag_category == "danger"
    assert Assignment.objects.get(clip=clip).state == AssignmentState.ESCALATED
    assert claim_status(client_for(other_annotator)) == 204  # the only clip left the normal queue

    queue = client_for(supervisor).get("/api/v1/escalations").json()
    assert [item["id"] for item in queue] == [escalation_id]
    assert queue[0]["category"] == "danger" and queue[0]["note"] == "a scream, then silence"
    assert queue[0]["overdue"] is False and queue[0]["claimed_by"] is None
    escalation = Escalation.objects.get(pk=escalation_id)
    assert escalation.due_at - escalation.created_at == timedelta(hours=1)
    assert ("escalation", "flag", None) in ledger_steps(clip.id)


def claim_status(client) -> int:
    client.post("/api/v1/shifts")
    return client.post("/api/v1/assignments/next").status_code


def test_after_a_flag_the_annotator_pauses_and_the_next_clip_is_not_a_flagged_one(settings, annotator, subject):
    settings.WORK_FLAG_BREAK_MINUTES = 5
    flagged(annotator, subject)
    earlier = queued_clip(subject, queued_at=timezone.now() - timedelta(hours=2))  # oldest in the queue, but flagged
    Clip.objects.filter(pk=earlier.pk).update(flag_category="distressing")
    clean = queued_clip(subject)
    client = client_for(annotator)

    refused = client.post("/api/v1/assignments/next")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "flag_pause"
    assert 290 <= int(refused["Retry-After"]) <= 300
    assert "5 min" in refused.json()["error"]["message"]

    end_pause(annotator)
    after_pause = client.post("/api/v1/assignments/next").json()
    assert Assignment.objects.get(pk=after_pause["id"]).clip_id == clean.id
    client.post(f"/api/v1/assignments/{after_pause['id']}/submit", {"text": "fine"}, format="json")
    # One clean clip later, flagged content within the budget may come again.
    assert Assignment.objects.get(pk=client.post("/api/v1/assignments/next").json()["id"]).clip_id == earlier.id


def test_the_queue_puts_the_most_severe_first_then_the_oldest_and_marks_overdue(supervisor, subject):
    annotators = [make_user(f"ann-{n}", "annotator") for n in range(3)]
    distressing, _ = flagged(annotators[0], subject, "distressing")
    child_safety, _ = flagged(annotators[1], subject, "child_safety")
    old_distressing, _ = flagged(annotators[2], subject, "distressing")
    Escalation.objects.filter(pk=old_distressing).update(created_at=timezone.now() - timedelta(hours=30),
                                                         due_at=timezone.now() - timedelta(hours=6))
    queue = client_for(supervisor).get("/api/v1/escalations").json()
    assert [item["id"] for item in queue] == [child_safety, old_distressing, distressing]
    assert [item["overdue"] for item in queue] == [False, True, False]


def test_a_supervisor_reads_the_transcript_then_chooses_to_listen_then_records_an_outcome(annotator, supervisor,
                                                                                          subject):
    escalation_id, clip = flagged(annotator, subject)
    Clip.objects.filter(pk=clip.pk).update(draft_transcript="[NAME] help me please")
    sup = client_for(supervisor)
    assert sup.get(f"/api/v1/escalations/{escalation_id}").json()["error"]["code"] == "not_claimed"
    assert sup.post(f"/api/v1/escalations/{escalation_id}/claim").json()["state"] == "claimed"

    detail = sup.get(f"/api/v1/escalations/{escalation_id}").json()
    assert detail["draft"] == "[NAME] help me please" and detail["annotator_text"] == "help me please"
    assert not LedgerEntry.objects.filter(clip_id=clip.id, action="audio_stream", actor_id=supervisor.pk).exists()

    listening = sup.post(f"/api/v1/escalations/{escalation_id}/listen").json()
    audio = fetch_audio(sup, {"id": listening["assignment"], "audio_token": listening["audio_token"]})
    assert audio.status_code == 200 and "no-store" in audio["Cache-Control"]

    missing_reason = sup.post(f"/api/v1/escalations/{escalation_id}/resolve", {"outcome": "no_action", "reason": " "},
                              format="json")
    assert missing_reason.status_code == 400
    resolved = sup.post(f"/api/v1/escalations/{escalation_id}/resolve",
                        {"outcome": "no_action", "reason": "A film playing in the background."}, format="json")
    assert resolved.status_code == 200 and resolved.json()["outcome"] == "no_action"
    clip.refresh_from_db()
    assert clip.status == ClipStatus.QUEUED and clip.flag_category == "danger"  # back to transcription, still marked
    escalation = Escalation.objects.get(pk=escalation_id)
    assert (escalation.resolved_by, escalation.reason) == (supervisor, "A film playing in the background.")
    assert Assignment.objects.get(pk=listening["assignment"]).state == AssignmentState.RELEASED
    actions = [(e.action, e.detail.get("purpose") or e.detail.get("step"))
               for e in LedgerEntry.objects.filter(clip_id=clip.id, actor_id=supervisor.pk).order_by("id")]
    assert actions == [("escalation", "claim"), ("transcript_view", "escalation_review"),
                       ("audio_stream", "escalation_review"), ("escalation", "resolve")]
    assert client_for(supervisor).get("/api/v1/escalations").json() == []


def test_only_the_claimant_works_on_an_escalation(annotator, supervisor, subject):
    escalation_id, _ = flagged(annotator, subject)
    client_for(supervisor).post(f"/api/v1/escalations/{escalation_id}/claim")
    second = client_for(make_user("sup-2", "supervisor"))
    assert second.post(f"/api/v1/escalations/{escalation_id}/claim").json()["error"]["code"] == "claimed_by_another"
    assert second.get(f"/api/v1/escalations/{escalation_id}").status_code == 409
    assert second.post(f"/api/v1/escalations/{escalation_id}/listen").status_code == 409
    response = second.post(f"/api/v1/escalations/{escalation_id}/resolve", {"outcome": "purge", "reason": "x"},
                           format="json")
    assert response.status_code == 409 and Escalation.objects.get(pk=escalation_id).state == "claimed"


def test_annotators_cannot_see_claim_or_resolve_escalations(annotator, other_annotator, subject):
    escalation_id, _ = flagged(annotator, subject)
    for client in (client_for(annotator), client_for(other_annotator)):
        assert client.get("/api/v1/escalations").status_code == 403
        assert client.get(f"/api/v1/escalations/{escalation_id}").status_code == 403
        assert client.post(f"/api/v1/escalations/{escalation_id}/claim").status_code == 403
        assert client.post(f"/api/v1/escalations/{escalation_id}/resolve", {"outcome": "no_action", "reason": "x"},
                           format="json").status_code == 403
    assert Escalation.objects.get(pk=escalation_id).state == "open"


def test_a_referral_records_who_decided_what_when_why_and_to_whom(annotator, supervisor, subject):
    escalation_id, clip = flagged(annotator, subject)
    without = resolve(supervisor, escalation_id, outcome="referral", reason="Threat of violence.")
    assert without.status_code == 400 and without.json()["error"]["code"] == "missing_referred_to"
    response = resolve(supervisor, escalation_id, outcome="referral", reason="Threat of violence.",
                       referred_to="Trust & safety lead, per policy section 3")
    assert response.status_code == 200
    escalation = Escalation.objects.get(pk=escalation_id)
    assert escalation.referred_to.startswith("Trust & safety lead") and escalation.resolved_at is not None
    clip.refresh_from_db()
    assert clip.status == ClipStatus.ESCALATED  # kept out of review
    assert ("escalation", "resolve", "referral") in ledger_steps(clip.id)


def test_a_purge_shreds_the_clip_and_keeps_a_tombstone(annotator, supervisor, subject, store,
                                                       django_capture_on_commit_callbacks):
    escalation_id, clip = flagged(annotator, subject)
    assert store.files()
    with django_capture_on_commit_callbacks(execute=True):
        response = resolve(supervisor, escalation_id, outcome="purge",
                           reason="Nothing to transcribe; intimate content.")
    assert response.status_code == 200
    clip.refresh_from_db()
    assert clip.status == ClipStatus.DELETED and clip.status_reason == "purged_after_escalation"
    assert clip.wrapped_key is None and clip.deid_path == "" and clip.draft_transcript == "" and clip.envelope is None
    assert store.files() == []
    assert Escalation.objects.get(pk=escalation_id).annotator_text == ""
    assert not Transcript.objects.filter(clip=clip).exists()


def test_a_wellbeing_check_is_recorded_for_the_annotator(annotator, supervisor, subject):
    from labeling.escalation.selectors import wellbeing_checks_requested

    escalation_id, _ = flagged(annotator, subject, "self_harm")
    resolved = resolve(supervisor, escalation_id, outcome="wellbeing_check", reason="Third such clip today.")
    assert resolved.status_code == 200
    [check] = wellbeing_checks_requested(now=timezone.now())
    assert check.flagged_by == annotator and check.resolved_by == supervisor


def test_a_legal_hold_freezes_deletion_and_the_subject_sees_it(annotator, supervisor, subject):
    escalation_id, clip = flagged(annotator, subject)
    sup = client_for(supervisor)
    bad = sup.post(f"/api/v1/escalations/{escalation_id}/hold", {"reason": "Police request", "days": 0}, format="json")
    assert bad.status_code == 400
    hold = sup.post(f"/api/v1/escalations/{escalation_id}/hold", {"reason": "Police request ref 44/2026", "days": 30},
                    format="json")
    assert hold.status_code == 201
    assert client_for(supervisor).get("/api/v1/escalations").json()[0]["on_hold"] is True

    refused = resolve(supervisor, escalation_id, outcome="purge", reason="Owner asked.")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "legal_hold"
    assert Clip.objects.get(pk=clip.pk).wrapped_key is not None

    # The owner withdraws: the held clip is kept, but nobody hears it any more.
    consent_set(account=subject, granted=False, channel="portal")
    clip.refresh_from_db()
    assert clip.status == ClipStatus.ESCALATED and clip.wrapped_key is not None
    assert sup.post(f"/api/v1/escalations/{escalation_id}/claim").status_code == 200
    assert sup.post(f"/api/v1/escalations/{escalation_id}/listen").status_code == 410

    entries = client_for(subject.user, verified=False).get("/api/v1/me/ledger").json()["entries"]
    holds = [e for e in entries if e["what"] == "legal_hold"]
    assert len(holds) == 1 and holds[0]["until"].startswith(str(LegalHold.objects.get().expires_at.date()))


def test_withdrawal_takes_an_escalated_clip_without_a_hold(settings, annotator, supervisor, subject, store,
                                                          django_capture_on_commit_callbacks):
    settings.REVOCATION_DELETES = False  # withdrawal alone; deletion on revocation: tests/consent/test_deletion.py
    escalation_id, clip = flagged(annotator, subject)
    with django_capture_on_commit_callbacks(execute=True):
        consent_set(account=subject, granted=False, channel="portal")
    clip.refresh_from_db()
    assert clip.status == ClipStatus.WITHDRAWN and store.files() == []
    assert Escalation.objects.get(pk=escalation_id).state == "withdrawn"
    assert client_for(supervisor).get("/api/v1/escalations").json() == []


def test_a_flag_needs_a_known_category_and_a_live_assignment(annotator, other_annotator, subject):
    queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    assert flag(client, assignment, "boring").status_code == 400
    assert flag(client_for(other_annotator), assignment).status_code == 404
    assert flag(client, assignment, note="x" * 1001).status_code == 400
    assert Clip.objects.get().status == ClipStatus.ASSIGNED  # nothing changed


def test_the_flag_tells_the_annotator_to_pause(settings, annotator, subject):
    settings.WORK_FLAG_BREAK_MINUTES = 5
    queued_clip(subject)
    client = client_for(annotator)
    body = flag(client, claim(client), "distressing").json()
    assert "5 min" in body["message"] and body["pause_until"]


def test_a_clip_flagged_again_keeps_its_most_severe_category(annotator, other_annotator, supervisor):
    subject = make_subject("acct-2")
    escalation_id, clip = flagged(annotator, subject, "danger")
    resolve(supervisor, escalation_id, outcome="no_action", reason="Sports commentary.")
    client = client_for(other_annotator)
    flag(client, claim(client), "distressing")
    clip.refresh_from_db()
    assert clip.flag_category == "danger" and clip.status == ClipStatus.ESCALATED


def test_an_escalation_left_with_its_claimant_can_be_taken_over(annotator, supervisor, subject):
    escalation_id, clip = flagged(annotator, subject)
    first = client_for(supervisor)
    first.post(f"/api/v1/escalations/{escalation_id}/claim")
    listening = first.post(f"/api/v1/escalations/{escalation_id}/listen").json()
    second = client_for(make_user("sup-2", "supervisor"))
    refused = second.post(f"/api/v1/escalations/{escalation_id}/claim").json()["error"]["message"]
    assert "take it over in 30 min" in refused
    Escalation.objects.filter(pk=escalation_id).update(claimed_at=timezone.now() - timedelta(minutes=31))
    assert second.post(f"/api/v1/escalations/{escalation_id}/claim").status_code == 200
    assert second.get(f"/api/v1/escalations/{escalation_id}").status_code == 200
    assert first.get(f"/api/v1/escalations/{escalation_id}").json()["error"]["code"] == "not_claimed"
    assert Assignment.objects.get(pk=listening["assignment"]).state == AssignmentState.RELEASED
    assert ("escalation", "take_over", None) in ledger_steps(clip.id)


def test_an_escalated_clip_its_owner_deletes_leaves_the_supervisors_queue(annotator, supervisor, subject):
    escalation_id, clip = flagged(annotator, subject)
    client_for(subject.user, verified=False).delete(f"/api/v1/me/clips/{clip.id}")
    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.DELETED
    assert Escalation.objects.get(pk=escalation_id).state == "withdrawn"
    assert client_for(supervisor).get("/api/v1/escalations").json() == []
