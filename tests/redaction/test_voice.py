"""The McAdams disguise changes the voice but keeps length and loudness."""

import numpy as np
import soundfile as sf

from redaction.voice import ALPHA_RANGE, draw_alpha, lpc, mcadams, warp_poles
from tests.conftest import DEMO_AUDIO


def test_alpha_is_drawn_per_clip_within_range_and_reproducibly():
    values = {draw_alpha(seed) for seed in range(50)}
    assert len(values) == 50
    assert all(ALPHA_RANGE[0] <= v <= ALPHA_RANGE[1] for v in values)
    assert draw_alpha(12345) == draw_alpha(12345)


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
