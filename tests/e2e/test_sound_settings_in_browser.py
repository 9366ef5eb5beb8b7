"""The annotator's volume survives a reload (it is kept on the server), and a clip in a category the
team marks starts quietly and fades in, unless the annotator turned muted start off."""

import pytest

from labeling.models import AnnotatorPreference, Clip, Team
from tests.e2e.conftest import sign_in
from tests.e2e.test_editor_in_browser import speechlike
from tests.factories import make_subject, make_user, queued_clip, team_of

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the role groups

GAINS = """async () => {
    const readings = [];
    const started = performance.now();
    while (performance.now() - started < 2600) {
        readings.push(parseFloat(document.getElementById('work').dataset.gain));
        await new Promise((done) => setTimeout(done, 50));
    }
    return readings; }"""


def play_and_listen(page) -> list[float]:
    """Start playback and read what the page says it plays at, every 50 ms for 2.6 s."""
    page.click("#play")
    page.wait_for_selector("#work[data-playing=true]")
    return page.evaluate(GAINS)


def test_the_volume_is_kept_and_a_marked_clip_fades_in(browser, live_server):
    annotator = make_user("ann-sound", "annotator")
    team = team_of(annotator)
    Team.objects.filter(pk=team.pk).update(muted_start_categories=["distressing"])
    clip = queued_clip(make_subject(), samples=speechlike(8.0))
    Clip.objects.filter(pk=clip.pk).update(flag_category="distressing")

    page = sign_in(browser, live_server, annotator)
    page.click("#start-shift")
    page.wait_for_selector("text=Clip ready")
    assert page.input_value("#volume") == "100"
    page.focus("#volume")
    for _ in range(12):  # 100 % down to 40 % in steps of 5
        page.keyboard.press("ArrowLeft")
    page.wait_for_selector("#sound-status >> text=Volume saved.")
    page.wait_for_load_state("networkidle")
    assert AnnotatorPreference.objects.get(user=annotator).volume == pytest.approx(0.4)

    page.reload()
    page.wait_for_load_state("networkidle")
    assert page.input_value("#volume") == "40"
    page.click("#start-shift")
    page.wait_for_selector("text=Clip ready")
    assert page.get_attribute("#work", "data-gain") == "0.400"  # the kept volume, before anything plays

    gains = play_and_listen(page)
    # It starts at a tenth of the chosen volume and rises to it over about 2 seconds, never falling.
    assert gains[0] <= 0.4 * 0.1 * 1.5, gains
    assert all(later >= earlier - 1e-3 for earlier, later in zip(gains, gains[1:])), gains
    assert any(0.1 < g < 0.3 for g in gains), gains  # a fade, not a jump
    assert gains[-1] == pytest.approx(0.4, abs=0.005), gains

    # Turned off, the same clip starts at the full chosen volume.
    page.click("#play")  # pause
    page.select_option("#muted-start", "off")
    page.wait_for_selector("#sound-status >> text=Saved.")
    page.reload()
    page.click("#start-shift")
    page.wait_for_selector("text=Clip ready")
    assert page.input_value("#muted-start") == "off"
    gains = play_and_listen(page)
    assert min(gains) == pytest.approx(0.4, abs=0.005), gains
