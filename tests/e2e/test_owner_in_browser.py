"""A data subject opts out and watches their waiting recordings leave review, sees who heard the
others, deletes everything and gets a receipt, in a browser."""

import pytest

from labeling.models import Clip, ClipStatus
from labeling.review.audio import assignment_audio, assignment_audio_token
from labeling.review.services import assignment_claim, shift_start
from labeling.review.submit import Labels, transcript_submit
from tests.e2e.conftest import sign_in
from tests.factories import make_subject, make_user, queued_clip

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the role groups


def test_opt_out_see_who_heard_delete_everything(browser, live_server, settings):
    settings.REVOCATION_DELETES = False  # so that deleting is a step of its own here
    subject = make_subject()
    annotator = make_user("ann-owner-e2e", "annotator")
    heard = queued_clip(subject)
    shift_start(annotator=annotator)
    assignment = assignment_claim(annotator=annotator)
    assignment_audio(assignment_id=assignment.id, annotator=annotator,
                     token=assignment_audio_token(assignment_id=assignment.id))
    transcript_submit(assignment_id=assignment.id, annotator=annotator, labels=Labels(text="lights off"))
    waiting = [queued_clip(subject), queued_clip(subject)]

    page = sign_in(browser, live_server, subject.user)
    page.goto(f"{live_server.url}/me/recordings/")
    assert page.locator("text=waiting for review").count() == 2
    page.goto(f"{live_server.url}/me/who-heard/")
    page.wait_for_selector("text=transcription")
    assert "Reviewer " in page.content() and "ann-owner-e2e" not in page.content()

    page.goto(f"{live_server.url}/me/")
    page.check("input[name=human_review][value=no]")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Your choice is saved")
    page.goto(f"{live_server.url}/me/recordings/")
    assert page.locator("text=waiting for review").count() == 0
    assert page.locator("text=withdrawn from review").count() == 2
    assert {Clip.objects.get(pk=c.pk).status for c in waiting} == {ClipStatus.WITHDRAWN}

    page.check("input[name=everything]")
    page.click("button:has-text('Delete everything')")
    page.wait_for_selector("h1:has-text('Deletion receipt')")
    assert page.locator("text=its audio, transcripts and details are gone").count() == 3
    assert Clip.objects.get(pk=heard.pk).status == ClipStatus.DELETED


def test_the_owner_pages_fit_a_phone(browser, live_server):
    subject = make_subject()
    for _ in range(3):
        queued_clip(subject)
    page = sign_in(browser, live_server, subject.user)
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/me/", "/me/recordings/", "/me/who-heard/", "/signup/"):
        page.goto(f"{live_server.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
