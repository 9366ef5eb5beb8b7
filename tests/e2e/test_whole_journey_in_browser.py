"""The whole product in one browser run: an annotator signs in with a TOTP code, starts a shift,
plays and transcribes a clip and flags the next; a supervisor resolves the flag; an owner withdraws
consent and the annotator's page lets the clip in front of them go, saying why."""

import pytest

from labeling.models import Clip, ClipStatus, Escalation, Transcript
from tests.e2e.conftest import refer_first_escalation, sign_in
from tests.e2e.test_editor_in_browser import speechlike
from tests.factories import make_subject, make_user, queued_clip

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the role groups


def test_transcribe_flag_resolve_and_withdraw_across_three_people(browser, live_server, settings):
    settings.WORK_FLAG_BREAK_MINUTES = 0
    settings.REVOCATION_DELETES = True
    first_owner = make_subject("acct-first")
    second_owner = make_subject("acct-second", first_name="Ottilie")
    transcribed = queued_clip(first_owner, samples=speechlike(3.0))
    flagged = queued_clip(first_owner, samples=speechlike(2.0))
    released = queued_clip(second_owner, samples=speechlike(2.0))  # claimed ahead, given back at the flag
    withdrawn = queued_clip(second_owner, samples=speechlike(2.0))
    Clip.objects.filter(pk=flagged.pk).update(draft_transcript="he said he would hurt her")
    annotator, supervisor = make_user("ann-journey", "annotator"), make_user("sup-journey", "supervisor")

    desk = sign_in(browser, live_server, annotator)  # password, then the authenticator's code
    assert desk.url.endswith("/annotate/")
    desk.click("#start-shift")
    desk.wait_for_selector("text=Clip ready")
    desk.keyboard.press("Alt+KeyP")
    desk.wait_for_selector("#play >> text=Pause")
    desk.keyboard.press("Alt+KeyP")
    desk.fill("#transcript", "turn on the kitchen lights")
    desk.wait_for_selector("#work[data-ahead]")  # the next clip, claimed and fetched ahead
    desk.keyboard.press("Control+Enter")
    desk.wait_for_function("() => document.getElementById('transcript').value === 'he said he would hurt her'")
    desk.wait_for_load_state("networkidle")  # the page's claim ahead done: on SQLite a write locks the table
    assert Transcript.objects.get(clip=transcribed).text == "turn on the kitchen lights"
    assert Clip.objects.get(pk=transcribed.pk).status == ClipStatus.LABELED

    desk.keyboard.press("Alt+KeyF")
    desk.wait_for_selector("#flag-panel:not([hidden])")
    desk.keyboard.press("2")  # possible crime or someone in danger
    desk.keyboard.press("Enter")
    desk.wait_for_selector("text=A supervisor will take it from here")
    desk.wait_for_load_state("networkidle")
    assert Clip.objects.get(pk=flagged.pk).status == ClipStatus.ESCALATED
    desk.wait_for_selector("text=Clip ready")  # no pause configured: the next clip comes at once
    desk.wait_for_load_state("networkidle")
    assert Clip.objects.get(pk=withdrawn.pk).status == ClipStatus.ASSIGNED
    assert Clip.objects.get(pk=released.pk).status == ClipStatus.QUEUED

    office = sign_in(browser, live_server, supervisor)
    refer_first_escalation(office, live_server, draft="he said he would hurt her", reason="Someone may be in danger.")
    escalation = Escalation.objects.get(clip=flagged)
    assert (escalation.state, escalation.outcome, escalation.resolved_by) == ("resolved", "referral", supervisor)

    owner = sign_in(browser, live_server, second_owner.user)
    owner.goto(f"{live_server.url}/me/")
    owner.check("input[name=human_review][value=no]")
    owner.click("main button[type=submit]")
    owner.wait_for_selector("text=Your choice is saved")
    assert {Clip.objects.get(pk=c.pk).status for c in (released, withdrawn)} == {ClipStatus.DELETED}

    # The annotator's page learns of it by itself, and lets the clip go.
    desk.wait_for_selector("text=Its owner withdrew this clip from review")
    assert desk.input_value("#transcript") == "" and desk.is_disabled("#submit")
    desk.wait_for_load_state("networkidle")
    assert not Transcript.objects.filter(clip=withdrawn).exists()
