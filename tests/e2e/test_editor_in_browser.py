"""The editor without the mouse: play, move, select, tag, choose the intent, flag, reload without
losing anything, submit and be on the next clip, which was claimed and fetched ahead."""

import numpy as np
import pytest

from labeling.models import Assignment, Clip, Project, Transcript
from tests.e2e.conftest import sign_in
from tests.factories import make_subject, make_user, queued_clip

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the role groups


def speechlike(seconds: float) -> np.ndarray:
    """Bursts of tone with pauses: a waveform with visible shape."""
    t = np.arange(int(16000 * seconds)) / 16000
    return (0.5 * np.sin(2 * np.pi * 200 * t) * (np.sin(2 * np.pi * 1.5 * t) > 0)).astype(np.float32)


def canvas_ink(page) -> int:
    """How many pixels of the waveform canvas are drawn on."""
    return page.evaluate("""() => {
        const c = document.getElementById('waveform');
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
        return n; }""")


def test_an_annotator_transcribes_tags_and_moves_on_on_keys_alone(browser, live_server):
    Project.objects.filter(slug="default").update(intents=["play_music", "set_timer"],
                                                  entity_types=["song", "artist"])
    subject = make_subject()
    first = queued_clip(subject, samples=speechlike(4.0))
    Clip.objects.filter(pk=first.pk).update(draft_transcript="play yellow by [NAME]")
    second = queued_clip(subject, samples=speechlike(2.0))
    annotator = make_user("ann-keys", "annotator")

    page = sign_in(browser, live_server, annotator)
    page.click("#start-shift")
    page.wait_for_selector("text=Clip ready")
    assert page.input_value("#transcript") == "play yellow by [NAME]"
    assert page.evaluate("document.activeElement.id") == "transcript"
    assert canvas_ink(page) > 1000
    for key in ("Alt+Period", "Alt+Period"):
        page.keyboard.press(key)
    page.wait_for_selector("#position >> text=speed 1.50×")
    page.keyboard.press("Alt+KeyP")
    page.wait_for_selector("#play >> text=Pause")
    page.keyboard.press("Alt+KeyP")
    page.wait_for_selector("#play >> text=Play")
    page.keyboard.press("Alt+KeyR")
    page.keyboard.press("Alt+BracketLeft")
    page.wait_for_selector("#position >> text=selection")

    # Correct the draft, then tag "yellow" (selected with Shift+arrows) as a song.
    page.keyboard.press("Control+End")
    for _ in range(len("[NAME]")):
        page.keyboard.press("Backspace")
    page.keyboard.type("coldplay")
    page.keyboard.press("Control+Home")
    for _ in range(len("play ")):
        page.keyboard.press("ArrowRight")
    for _ in range(len("yellow")):
        page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Alt+KeyE")
    page.wait_for_selector("#entity-panel >> text=Tag “yellow” as")
    page.keyboard.press("1")
    page.wait_for_selector("#entity-list >> text=yellow (song)")
    assert page.evaluate("document.activeElement.id") == "transcript"
    page.keyboard.press("Alt+KeyI")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.keyboard.press("Alt+KeyT")
    assert page.is_checked("input[value=not_directed]")
    page.wait_for_selector("text=Draft saved")

    # A reload loses nothing.
    page.reload()
    page.click("#start-shift")
    page.wait_for_selector("text=Clip ready with your saved work")
    assert page.input_value("#transcript") == "play yellow by coldplay"
    assert page.input_value("#intent") == "play_music"
    assert page.is_checked("input[value=not_directed]")
    page.wait_for_selector("#entity-list >> text=yellow (song)")

    # While the annotator works, the next clip is claimed ahead and its audio fetched.
    page.wait_for_selector("#work[data-ahead]", state="attached")
    ahead = Assignment.objects.get(annotator=annotator, standby=True)
    assert ahead.clip_id == second.id and str(ahead.id) == page.get_attribute("#work", "data-ahead")
    fetched = ahead.audio_sent

    page.focus("#transcript")
    page.keyboard.press("Control+Enter")
    page.wait_for_function("() => document.getElementById('transcript').value === ''")
    page.wait_for_selector("text=Clip ready")
    page.wait_for_load_state("networkidle")  # the page's claim ahead done: on SQLite a write locks the table
    transcript = Transcript.objects.get(clip=first)
    assert transcript.text == "play yellow by coldplay" and transcript.intent == "play_music"
    assert transcript.entities == [{"start": 5, "end": 11, "type": "song"}]
    assert transcript.flags == ["not_directed"]
    # The clip claimed ahead is the one on the page now, its audio not fetched a second time.
    ahead.refresh_from_db()
    assert ahead.state == "open" and not ahead.standby and ahead.audio_sent == fetched
    assert page.text_content("#position").startswith("0.0 of 2.0 s")


def test_the_page_reports_each_start_of_the_sound_and_nothing_else(browser, live_server):
    """The owner is told how many play starts the page reported: one each time the sound starts from
    silence, none for a jump or a change of speed while it plays."""
    queued_clip(make_subject(), samples=speechlike(4.0))
    annotator = make_user("ann-starts", "annotator")
    page = sign_in(browser, live_server, annotator)
    reported = []
    page.on("request", lambda request: reported.append(request.method) if "/play-starts" in request.url else None)
    with page.expect_response("**/api/v1/assignments/prefetch"):  # nothing more to claim ahead: 204
        page.click("#start-shift")
    page.wait_for_selector("text=Clip ready")

    with page.expect_response("**/play-starts") as first:
        page.keyboard.press("Alt+KeyP")
    assert first.value.status == 204
    page.wait_for_selector("#play >> text=Pause")
    page.wait_for_timeout(1100)  # a second start now would be counted, were one sent
    page.keyboard.press("Alt+KeyR")  # two seconds back while playing
    page.keyboard.press("Alt+Period")  # faster while playing
    page.wait_for_selector("#position >> text=speed 1.25×")
    page.keyboard.press("Alt+KeyP")
    page.wait_for_selector("#play >> text=Play")
    with page.expect_response("**/play-starts") as second:
        page.keyboard.press("Alt+KeyP")
    assert second.value.status == 204
    assert reported == ["POST", "POST"]
    assignment = Assignment.objects.get(annotator=annotator)
    assert assignment.play_starts == 2 and assignment.audio_sent == 1
