"""A clip playing on the annotator page stops within 2 seconds of its owner withdrawing it or deleting
it on their own page, or of its lease running out: the annotator page forgets its sound and
waveform, says why, and the annotator goes on to the next clip when ready."""

import time

import pytest
from django.utils import timezone

from labeling.models import Assignment, Transcript
from tests.e2e.conftest import sign_in
from tests.e2e.test_editor_in_browser import canvas_ink, speechlike
from tests.factories import make_subject, make_user, queued_clip

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the role groups

LET_GO = """(words) => {
    const work = document.getElementById('work').dataset;
    return work.playing === 'false' && work.sound === 'none'
        && document.getElementById('clip-status').textContent.includes(words); }"""


def playing_clip(browser, live_server, name):
    """An annotator's page playing a 20 s clip, which another owner's clip waits behind."""
    page = sign_in(browser, live_server, make_user(name, "annotator"))
    page.click("#start-shift")
    page.wait_for_selector("text=Clip ready")
    page.click("#play")
    page.wait_for_selector("#work[data-playing=true]")
    page.wait_for_timeout(1500)  # it plays on, the page asking all the while
    assert page.get_attribute("#work", "data-playing") == "true"
    return page


def owner_page(browser, live_server, subject, path):
    owner = sign_in(browser, live_server, subject.user)
    owner.goto(f"{live_server.url}{path}")
    return owner


def let_go_within_2_seconds(page, since: float, words: str, what: str) -> None:
    page.wait_for_function(LET_GO, arg=words, polling=10, timeout=10_000)
    delay = time.monotonic() - since
    print(f"\n{what}: the annotator page stopped the clip and said why {delay:.2f} s later")
    assert delay < 2.0
    # The sound, the waveform and the text are gone; nothing plays or can be played.
    assert canvas_ink(page) == 0
    assert page.input_value("#transcript") == ""
    assert page.is_disabled("#play") and page.is_disabled("#submit")
    page.keyboard.press("Alt+KeyP")
    page.wait_for_timeout(300)
    assert page.get_attribute("#work", "data-playing") == "false"
    assert page.get_attribute("#work", "data-sound") == "none"
    assert "Go on to the next clip" in page.text_content("#clip-status")
    assert page.evaluate("document.activeElement.id") == "next-clip"


def goes_on(page) -> None:
    page.keyboard.press("Enter")  # on the focused "Next clip"
    page.wait_for_selector("text=Clip ready")
    assert page.get_attribute("#work", "data-sound") == "loaded" and page.is_hidden("#next-clip")


def test_the_owners_withdrawal_stops_the_clip_within_2_seconds(browser, live_server):
    subject = make_subject()
    clip = queued_clip(subject, samples=speechlike(20.0))
    queued_clip(make_subject("acct-other", "Ottilie"), samples=speechlike(2.0))
    page = playing_clip(browser, live_server, "ann-withdrawn")
    owner = owner_page(browser, live_server, subject, "/me/")
    owner.check("input[name=human_review][value=no]")

    clicked = time.monotonic()  # the delay counts the owner's own request too
    owner.click("main button[type=submit]")
    let_go_within_2_seconds(page, clicked, "owner withdrew this clip", "withdrawal")
    owner.wait_for_selector("text=Your choice is saved")
    goes_on(page)
    assert not Transcript.objects.filter(clip=clip).exists()


def test_the_owner_deleting_the_clip_stops_it_within_2_seconds(browser, live_server):
    subject = make_subject()
    queued_clip(subject, samples=speechlike(20.0))
    queued_clip(make_subject("acct-other", "Ottilie"), samples=speechlike(2.0))
    page = playing_clip(browser, live_server, "ann-deleted")
    owner = owner_page(browser, live_server, subject, "/me/recordings/")

    clicked = time.monotonic()
    owner.click("button:has-text('Delete')")
    let_go_within_2_seconds(page, clicked, "clip was deleted", "deletion")
    owner.wait_for_selector("h1:has-text('Deletion receipt')")
    goes_on(page)


def test_the_lease_running_out_stops_the_clip_within_2_seconds(browser, live_server, settings):
    settings.ASSIGNMENT_LEASE_SECONDS = 10
    subject = make_subject()
    queued_clip(subject, samples=speechlike(20.0))
    page = playing_clip(browser, live_server, "ann-lease")
    expires = Assignment.objects.get(annotator__username="ann-lease").lease_expires_at
    time.sleep(max(0.0, (expires - timezone.now()).total_seconds()))
    let_go_within_2_seconds(page, time.monotonic(), "time for this clip ran out", "lease expiry")
