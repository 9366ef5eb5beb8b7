"""The annotator's volume survives a reload (it is kept on the server), and a clip in a category the
team marks starts quietly and fades in, unless the annotator turned muted start off."""

import pytest

from labeling.models import AnnotatorPreference, Clip, Team
from tests.e2e.conftest import sign_in
from tests.e2e.test_editor_in_browser import speechlike
from tests.factories import make_subject, make_user, queued_clip, team_of

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the role groups

LISTEN = """async (volume) => {
    // Press play, then read what the page says it plays at every 50 ms: [seconds, gain], until it
    // has played at the full volume for 0.3 s (at most 5 s).
    const work = document.getElementById('work').dataset;
    const started = performance.now();
    document.getElementById('play').click();
    const readings = [];
    for (;;) {
        const at = (performance.now() - started) / 1000;
        readings.push([at, parseFloat(work.gain)]);
        const last = readings.filter(([t]) => t > at - 0.3);
        if ((at > 0.3 && last.every(([, g]) => Math.abs(g - volume) < 0.001)) || at > 5) return readings;
        await new Promise((done) => setTimeout(done, 50));
    } }"""


def play_and_listen(page, volume: float) -> list[tuple[float, float]]:
    """Start playback and read the level the page plays at over time, until it is `volume`."""
    readings = page.evaluate(LISTEN, volume)
    assert page.get_attribute("#work", "data-playing") == "true"
    return readings


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

    readings = play_and_listen(page, 0.4)
    gains = [gain for _, gain in readings]
    # It starts at a tenth of the chosen volume and rises to it over about 2 seconds, never falling.
    assert gains[0] == pytest.approx(0.04, abs=0.005), readings
    assert all(later >= earlier - 1e-3 for earlier, later in zip(gains, gains[1:])), readings
    assert any(0.1 < gain < 0.3 for gain in gains), readings  # a fade, not a jump
    assert gains[-1] == pytest.approx(0.4, abs=0.005), readings
    reached = next(at for at, gain in readings if gain >= 0.395)
    assert 1.5 < reached < 3.5, readings

    # Turned off, the same clip starts at the full chosen volume.
    page.click("#play")  # pause
    page.select_option("#muted-start", "off")
    page.wait_for_selector("#sound-status >> text=Saved.")
    page.reload()
    page.click("#start-shift")
    page.wait_for_selector("text=Clip ready")
    assert page.input_value("#muted-start") == "off"
    readings = play_and_listen(page, 0.4)
    assert min(gain for _, gain in readings) == pytest.approx(0.4, abs=0.005), readings
