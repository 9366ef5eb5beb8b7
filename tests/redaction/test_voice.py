"""The disguise changes pitch, formants and pole angles, per clip, keeping length and loudness."""

import warnings

import numpy as np
import pytest
import soundfile as sf

from redaction.voice import (
    ALPHA_RANGE,
    FORMANT_DOWN,
    FORMANT_UP,
    PITCH_DOWN,
    PITCH_UP,
    disguise,
    draw_disguise,
    lpc,
    mcadams,
    warp_poles,
    world_shift,
)
from tests.factories import DEMO_AUDIO


def test_parameters_are_drawn_per_clip_within_range_and_reproducibly():
    draws = [draw_disguise(seed) for seed in range(200)]
    assert len({d.pitch for d in draws}) == 200
    ups = [d for d in draws if d.pitch > 1]
    assert 60 < len(ups) < 140  # both directions occur
    for d in draws:
        up = d.pitch > 1
        assert (PITCH_UP if up else PITCH_DOWN)[0] <= d.pitch <= (PITCH_UP if up else PITCH_DOWN)[1]
        assert (FORMANT_UP if up else FORMANT_DOWN)[0] <= d.formant <= (FORMANT_UP if up else FORMANT_DOWN)[1]
        assert ALPHA_RANGE[0] <= d.alpha <= ALPHA_RANGE[1]
    assert draw_disguise(12345) == draw_disguise(12345)


def f0_median(samples, rate):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import pyworld

    x = samples.astype(np.float64)
    f0, t = pyworld.dio(x, rate)
    voiced = f0[f0 > 0]
    return float(np.median(voiced))


def test_world_shift_moves_pitch_by_the_ratio_and_keeps_length():
    samples, rate = sf.read(DEMO_AUDIO / "weather.wav", dtype="float32")
    up = world_shift(samples, rate, pitch=1.5, formant=1.15)
    down = world_shift(samples, rate, pitch=0.7, formant=0.85)
    assert len(up) == len(down) == len(samples)
    base = f0_median(samples, rate)
    assert f0_median(up, rate) / base == pytest.approx(1.5, rel=0.12)
    assert f0_median(down, rate) / base == pytest.approx(0.7, rel=0.12)


def test_full_disguise_keeps_loudness_and_differs_from_the_input():
    samples, rate = sf.read(DEMO_AUDIO / "lights.wav", dtype="float32")
    out = disguise(samples, rate, draw_disguise(3))
    assert len(out) == len(samples)
    rms = lambda x: np.sqrt(np.mean(x.astype(np.float64) ** 2))  # noqa: E731
    assert abs(rms(out) / rms(samples) - 1) < 0.1
    assert abs(np.corrcoef(samples, out)[0, 1]) < 0.5


def test_pole_warp_moves_formants_and_keeps_stability():
    frame = np.random.default_rng(0).standard_normal(320)
    a = lpc(np.convolve(frame, [1, -1.6, 0.9], mode="same"), 10)
    warped = warp_poles(a, 0.8)
    assert np.all(np.abs(np.roots(warped)) < 1.0)
    assert not np.allclose(np.sort(np.angle(np.roots(a))), np.sort(np.angle(np.roots(warped))))


def test_disguised_speech_keeps_length_and_loudness_but_changes_spectrum():
    samples, rate = sf.read(DEMO_AUDIO / "lights.wav", dtype="float32")
    out = mcadams(samples, rate, alpha=0.8)
    assert len(out) == len(samples)
    rms = lambda x: np.sqrt(np.mean(x.astype(np.float64) ** 2))  # noqa: E731
    assert abs(rms(out) / rms(samples) - 1) < 0.05
    spec_in = np.abs(np.fft.rfft(samples))
    spec_out = np.abs(np.fft.rfft(out))
    centroid = lambda s: np.sum(s * np.arange(len(s))) / np.sum(s)  # noqa: E731
    assert abs(centroid(spec_out) - centroid(spec_in)) / centroid(spec_in) > 0.05
    assert np.corrcoef(samples, out)[0, 1] < 0.9


def test_soft_limit_touches_only_peaks():
    from redaction.voice import soft_limit

    x = np.array([0.1, -0.5, 0.89, 1.4, -2.0])
    y = soft_limit(x)
    assert np.array_equal(y[:3], x[:3])
    assert np.all(np.abs(y[3:]) < 0.99) and np.all(np.abs(y[3:]) > 0.9)
