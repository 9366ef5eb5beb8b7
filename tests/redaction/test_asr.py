"""Whisper tiny.en from the model package recognizes speech offline, within its budget, or raises."""


import numpy as np
import pytest
import soundfile as sf

from redaction.asr import AsrError, transcribe
from redaction.audio import to_target_rate
from tests.factories import AUDIO


def load(name):
    samples, rate = sf.read(AUDIO / name, dtype="float32")
    return to_target_rate(samples, rate)


def test_recognizes_the_words_with_times():
    words = transcribe(load("speech_with_silence.wav"))
    text = " ".join(w.text.lower() for w in words)
    assert "jazz" in text and "kitchen" in text and "volume" in text
    assert all(0 <= w.start <= w.end <= 9.0 for w in words)
    assert [w.start for w in words] == sorted(w.start for w in words)


def test_digits_come_out_as_numerals_or_digit_words():
    text = " ".join(w.text for w in transcribe(load("pii_number.wav")))
    assert "2065" in text.replace(" ", "").replace("-", "") or "two" in text.lower()


def test_over_budget_raises_instead_of_returning_less():
    with pytest.raises(AsrError) as caught:
        transcribe(load("speech_with_silence.wav"), budget_seconds=1e-4)
    assert caught.value.code == "asr_timeout"


def test_missing_model_raises(tmp_path):
    with pytest.raises(AsrError) as caught:
        transcribe(np.zeros(16000, dtype=np.float32), model_dir=str(tmp_path))
    assert caught.value.code == "asr_model_missing"
