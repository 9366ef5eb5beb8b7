"""A flagged clip goes from the annotator's key press to a supervisor's recorded outcome, in a browser."""

import pytest

from labeling.models import Clip, ClipStatus, Escalation
from tests.e2e.conftest import refer_first_escalation, sign_in
from tests.factories import make_subject, make_user, queued_clip

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the role groups


def test_flag_on_keys_then_a_supervisor_records_a_referral(browser, live_server, settings):
    settings.WORK_FLAG_BREAK_MINUTES = 5
    subject = make_subject()
    clip = queued_clip(subject, seconds=2.0)
    Clip.objects.filter(pk=clip.pk).update(draft_transcript="please help me he is hurting me")
    annotator, supervisor = make_user("ann-e2e", "annotator"), make_user("sup-e2e", "supervisor")

    page = sign_in(browser, live_server, annotator)
    assert page.url.endswith("/annotate/")
    page.click("#start-shift")
    page.wait_for_selector("text=Clip ready")
    assert page.input_value("#transcript") == "please help me he is hurting me"
    page.keyboard.press("Alt+KeyF")
    page.wait_for_selector("#flag-panel:not([hidden])")
    page.keyboard.press("2")  # possible crime or someone in danger
    page.keyboard.press("Enter")
    page.wait_for_selector("text=A supervisor will take it from here")
    # The pause after a flag, counted down on the page.
    page.wait_for_selector("text=Pause after the flag", timeout=10_000)
    escalation = Escalation.objects.get()
    assert escalation.category == "danger" and escalation.flagged_by == annotator
    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.ESCALATED

    desk = sign_in(browser, live_server, supervisor)
    desk.goto(f"{live_server.url}/supervise/escalations/")
    desk.wait_for_selector("#queue >> text=Possible crime or someone in danger")
    refer_first_escalation(desk, live_server, draft="please help me he is hurting me",
                           reason="A person says they are being hurt.")
    desk.wait_for_selector("#queue >> text=Nothing is waiting.")

    escalation.refresh_from_db()
    assert (escalation.state, escalation.outcome, escalation.resolved_by) == ("resolved", "referral", supervisor)
    assert escalation.referred_to == "Safeguarding lead"
