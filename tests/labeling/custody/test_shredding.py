"""Shredding takes every free text written about a clip: the flag's note and typed text, the
supervisor's reason and referral, the legal hold's reason. Outcome codes and times stay."""

from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.custody.services import SHREDDED_TEXT, clips_delete
from labeling.models import Clip, ClipStatus, Escalation, LegalHold
from tests.factories import client_for, every_value_in_the_database, flagged, resolve

pytestmark = pytest.mark.django_db

REASON = "Speaker Jane Roe of 5 Elm St says her husband hit her"
REFERRAL = "Officer Ottoline Quince, Elmfield station"
HOLD = "Police request about Jane Roe, ref 44/2026"
PERSONAL = ("Jane Roe", "Elm St", "Ottoline Quince")


def assert_no_personal_text_left():
    for table, value in every_value_in_the_database():
        if isinstance(value, str):
            for text in PERSONAL:
                assert text not in value, (table, text)


def test_deleting_everything_blanks_the_escalation_and_the_hold(annotator, supervisor, subject,
                                                                django_capture_on_commit_callbacks):
    escalation_id, clip = flagged(annotator, subject)
    sup = client_for(supervisor)
    assert sup.post(f"/api/v1/escalations/{escalation_id}/hold", {"reason": HOLD, "days": 1},
                    format="json").status_code == 201
    referred = resolve(supervisor, escalation_id, outcome="referral", reason=REASON, referred_to=REFERRAL)
    assert referred.status_code == 200
    ended = timezone.now() - timedelta(minutes=1)
    LegalHold.objects.update(expires_at=ended)  # the hold has ended
    with django_capture_on_commit_callbacks(execute=True):
        receipt = clips_delete(account=subject)
    assert [item["status"] for item in receipt.items] == ["deleted"]

    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.DELETED
    escalation = Escalation.objects.get(pk=escalation_id)
    assert escalation.reason == escalation.referred_to == SHREDDED_TEXT
    assert (escalation.note, escalation.annotator_text) == ("", "")
    assert escalation.outcome == "referral" and escalation.resolved_at is not None
    assert escalation.category == "danger" and escalation.created_at is not None
    hold = LegalHold.objects.get()
    assert hold.reason == SHREDDED_TEXT and hold.expires_at == ended
    assert_no_personal_text_left()


def test_a_purge_keeps_no_reason_either(annotator, supervisor, subject, django_capture_on_commit_callbacks):
    escalation_id, clip = flagged(annotator, subject)
    with django_capture_on_commit_callbacks(execute=True):
        assert resolve(supervisor, escalation_id, outcome="purge", reason=REASON).status_code == 200
    escalation = Escalation.objects.get(pk=escalation_id)
    assert escalation.outcome == "purge" and escalation.resolved_at is not None and escalation.reason == SHREDDED_TEXT
    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.DELETED
    assert_no_personal_text_left()
