"""A blind second opinion, asked and answered on the annotator page."""

import pytest

from labeling.models import Clip, SecondOpinion
from tests.e2e.conftest import sign_in
from tests.factories import make_subject, make_user, queued_clip

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the role groups


def test_ask_on_keys_another_annotator_answers_blind_and_the_asker_sees_it_settled(browser, live_server):
    clip = queued_clip(make_subject(), seconds=3.0)
    Clip.objects.filter(pk=clip.pk).update(draft_transcript="turn on the [NAME] light")
    asker, helper = make_user("ann-ask", "annotator"), make_user("ann-help", "annotator")

    page = sign_in(browser, live_server, asker)
    page.click("#start-shift")
    page.wait_for_selector("text=Clip ready")
    page.keyboard.press("Alt+KeyO")
    page.fill("#ask-start", "1.0")
    page.fill("#ask-end", "2.0")
    page.fill("#ask-text", "porch")
    page.press("#ask-text", "Enter")
    page.wait_for_selector("#opinions >> text=pending")

    other = sign_in(browser, live_server, helper)
    other.click("#start-shift")
    other.wait_for_selector("text=Second opinion: write only what is said from 1.0 s to 2.0 s.")
    assert other.input_value("#transcript") == ""  # blind: no draft, no first reading
    assert "porch" not in other.content()
    other.fill("#transcript", "Porch.")
    other.keyboard.press("Control+Enter")
    other.wait_for_selector("text=No clips are waiting")

    assert SecondOpinion.objects.get().state == "agreed"
    page.reload()
    page.wait_for_selector("#opinions >> text=settled as “Porch.”")
