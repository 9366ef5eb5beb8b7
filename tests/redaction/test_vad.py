"""Silence is trimmed with padding, speech kept, noise alone recognized as no speech."""

import numpy as np
import soundfile as sf

from redaction.vad import trim_silence
from tests.factories import AUDIO


def load(name):
    samples, rate = sf.read(AUDIO / name, dtype="float32")
    return samples, rate


def test_leading_trailing_and_long_inner_silence_are_cut():
    samples, rate = load("speech_with_silence.wav")  # 1.5 s quiet, speech, 1.2 s quiet, speech, 1.5 s quiet
    result = trim_silence(samples, rate, padding_ms=200)
    assert result.has_speech
    assert len(result.segments) == 2
    first_start, _ = result.segments[0]
    _, last_end = result.segments[-1]
    assert 1.1 < first_start < 1.8  # the voice starts a little after 1.5 s; padding is kept before it
    assert result.input_seconds - 1.5 < last_end < result.input_seconds - 1.1
    assert result.trimmed_seconds > 2.5
    assert len(result.audio) == sum(int(round((b - a) * rate)) for a, b in result.segments)


def test_padding_is_kept_around_speech():
    samples, rate = load("speech_with_silence.wav")
    tight = trim_silence(samples, rate, padding_ms=0)
    padded = trim_silence(samples, rate, padding_ms=200)
    assert len(padded.audio) - len(tight.audio) > 0.6 * rate  # ~0.2 s each side of two segments


def test_kept_audio_is_the_original_samples():
    samples, rate = load("speech_with_silence.wav")
    result = trim_silence(samples, rate)
    start = int(round(result.segments[0][0] * rate))
    assert np.array_equal(result.audio[:1000], samples[start : start + 1000])


def test_noise_alone_holds_no_speech():
    samples, rate = load("noise_only.wav")
    assert not trim_silence(samples, rate).has_speech


def test_digital_silence_holds_no_speech():
    assert not trim_silence(np.zeros(48000, dtype=np.float32), 16000).has_speech
