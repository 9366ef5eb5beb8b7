"""Hostile and broken audio ends discarded, held with a reason, or served with nothing unchecked heard."""

import numpy as np
import pytest
import soundfile as sf

from redaction.asr import transcribe
from redaction.audio import encode_wav
from redaction.pipeline import DeidFailed, DeidParams, deidentify
from redaction.reattack import DIGIT_WORDS, listen
from redaction.voice import draw_disguise
from tests.factories import AUDIO, DEMO_AUDIO

RATE = 16000
PARAMS = DeidParams(voice=draw_disguise(9), max_seconds=60)
SPOKEN_DIGITS = DIGIT_WORDS | {str(n) for n in range(10)}


def load(path):
    samples, rate = sf.read(path, dtype="float32")
    assert rate == RATE
    return samples


def outcome(samples):
    """'discarded', 'held:<reason>', or the result when it would be queued."""
    try:
        result = deidentify(encode_wav(samples), PARAMS)
    except DeidFailed as exc:
        return f"held:{exc.code}"
    return "discarded" if result.audio is None else result


def digits_heard(audio):
    whisper = [w.text.lower().strip(".,?!") for w in transcribe(audio)]
    sphinx = [h.word for h in listen(audio)]
    return [w for w in whisper + sphinx if w in SPOKEN_DIGITS or any(ch.isdigit() for ch in w)]


def test_silence_and_pure_noise_are_discarded():
    rng = np.random.default_rng(1)
    assert outcome(np.zeros(3 * RATE, dtype=np.float32)) == "discarded"
    assert outcome((rng.standard_normal(4 * RATE) * 0.1).astype(np.float32)) == "discarded"
    brown = np.cumsum(rng.standard_normal(4 * RATE)).astype(np.float32)
    assert outcome((brown / np.abs(brown).max() * 0.3).astype(np.float32)) == "discarded"


def test_music_is_never_served_as_speech():
    t = np.arange(6 * RATE) / RATE
    notes = [220.0, 277.2, 329.6, 440.0, 329.6, 277.2]
    melody = np.concatenate([
        sum(np.sin(2 * np.pi * f * k * t[:RATE]) / k for k in range(1, 6)) * np.hanning(RATE) for f in notes])
    result = outcome((0.2 * melody / np.abs(melody).max()).astype(np.float32))
    assert result == "discarded" or str(result).startswith("held:"), result


@pytest.mark.parametrize("damage", ["clipped", "dc_offset"])
def test_clipped_or_offset_speech_with_a_number_leaks_no_digit(damage):
    speech = load(AUDIO / "pii_number.wav")
    if damage == "clipped":
        speech = np.clip(speech * 8.0, -0.5, 0.5)
    else:
        speech = np.clip(speech + 0.3, -1.0, 1.0)
    result = outcome(speech.astype(np.float32))
    if isinstance(result, str):
        assert result.startswith("held:"), result
        return
    assert "NUMBER" in {span.kind for span in result.spans}
    assert digits_heard(result.audio) == []


def test_a_minute_of_one_digit_string_leaks_no_digit():
    speech = load(AUDIO / "pii_number.wav")
    digits = speech[int(1.3 * RATE):]  # "two oh six five five five zero one nine eight", said over and over
    clip = np.tile(digits, int(np.ceil(58 * RATE / len(digits))))[: 58 * RATE].astype(np.float32)
    result = outcome(clip)
    if isinstance(result, str):
        assert result.startswith("held:"), result
        return
    assert digits_heard(result.audio) == []


def test_a_clip_that_is_all_personal_data_leaks_none():
    name_number = load(AUDIO / "pii_name_number.wav")
    number = load(AUDIO / "pii_number.wav")
    result = outcome(np.concatenate([name_number, number]).astype(np.float32))
    if isinstance(result, str):
        assert result.startswith("held:"), result
        return
    heard = " ".join(w.text.lower() for w in transcribe(result.audio))
    assert "jonathan" not in heard and "baker" not in heard
    assert digits_heard(result.audio) == []


def test_a_command_is_still_served():
    result = outcome(load(DEMO_AUDIO / "weather.wav"))
    assert not isinstance(result, str) and "weather" in result.draft.lower()
