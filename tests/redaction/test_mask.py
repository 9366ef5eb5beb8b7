"""A masked span is a tone or silence; audio outside it is untouched; edges fade without clicks."""

import numpy as np
import pytest

from redaction.mask import FADE_SECONDS, TONE_HZ, mask, padded_spans

RATE = 16000


@pytest.fixture
def speechlike():
    rng = np.random.default_rng(3)
    return (0.3 * rng.standard_normal(RATE * 3)).astype(np.float32)


def test_tone_replaces_the_padded_span(speechlike):
    out, replaced = mask(speechlike, RATE, [(1.0, 1.5)], padding=0.15, mode="tone")
    assert replaced == [(0.85, 1.65)]
    inner = out[int((0.85 + FADE_SECONDS) * RATE): int((1.65 - FADE_SECONDS) * RATE)]
    spectrum = np.abs(np.fft.rfft(inner))
    assert abs(np.argmax(spectrum) * RATE / len(inner) - TONE_HZ) < 5
    # Nothing of the input survives inside: the residual after removing the tone is tiny.
    t = np.arange(len(out)) / RATE
    tone = 0.1 * np.sin(2 * np.pi * TONE_HZ * (t - 0.85))
    a, b = int((0.85 + FADE_SECONDS) * RATE), int((1.65 - FADE_SECONDS) * RATE)
    assert np.max(np.abs(out[a:b] - tone[a:b])) < 1e-3


def test_silence_mode_is_silent_inside(speechlike):
    out, _ = mask(speechlike, RATE, [(1.0, 1.5)], padding=0.15, mode="silence")
    a, b = int((0.85 + FADE_SECONDS) * RATE), int((1.65 - FADE_SECONDS) * RATE)
    assert np.all(out[a:b] == 0.0)


def test_audio_outside_the_spans_is_untouched(speechlike):
    out, _ = mask(speechlike, RATE, [(1.0, 1.5)], padding=0.15)
    assert np.array_equal(out[: int(0.85 * RATE)], speechlike[: int(0.85 * RATE)])
    assert np.array_equal(out[int(1.65 * RATE) + 1:], speechlike[int(1.65 * RATE) + 1:])


def test_edges_fade_so_there_is_no_click():
    steady = np.full(RATE * 2, 0.5, dtype=np.float32)
    out, _ = mask(steady, RATE, [(0.8, 1.2)], padding=0.1, mode="silence")
    assert np.max(np.abs(np.diff(out))) < 0.5 / (FADE_SECONDS * RATE) * 1.5


def test_spans_are_padded_clipped_and_merged():
    assert padded_spans([(0.05, 0.2), (0.4, 0.6), (2.9, 3.5)], padding=0.15, duration=3.0) == [
        (0.0, 0.75), (2.75, 3.0)]


def test_unknown_mode_is_refused(speechlike):
    with pytest.raises(ValueError):
        mask(speechlike, RATE, [(1.0, 1.1)], mode="beep")
