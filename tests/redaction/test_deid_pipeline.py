"""End to end on spoken personal data: masked, disguised, and an independent pass hears none of it."""

import re

import numpy as np
import pytest
import soundfile as sf

from redaction.asr import transcribe
from redaction.audio import encode_wav
from redaction.coverage import MIN_WORD_PROBABILITY
from redaction.pipeline import DeidFailed, DeidParams, deidentify
from redaction.voice import draw_disguise
from tests.factories import AUDIO, DEMO_AUDIO

VOICE = draw_disguise(5)
DIGIT_WORDS = {"zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}


def recognized_in(audio, spans):
    """Words an independent recognition pass finds, with their times."""
    return [(w.text.lower().strip(".,!?"), w.start, w.end) for w in transcribe(audio)]


@pytest.mark.parametrize("disguise", [False, True])
def test_spoken_phone_number_is_masked_and_not_heard_again(disguise):
    data = (AUDIO / "pii_number.wav").read_bytes()
    result = deidentify(data, DeidParams(voice=VOICE, max_seconds=60, disguise_voice=disguise))
    assert result.draft.lower().endswith("[number]")
    assert [s.kind for s in result.spans] == ["NUMBER"]
    heard = recognized_in(result.audio, result.spans)
    assert not any(re.search(r"\d{2,}", text) for text, _, _ in heard)
    if not disguise:  # the masking alone leaves no digit at all
        assert not any(text in DIGIT_WORDS or text.isdigit() for text, _, _ in heard)


def test_name_and_number_are_both_masked():
    data = (AUDIO / "pii_name_number.wav").read_bytes()
    result = deidentify(data, DeidParams(voice=VOICE, max_seconds=60, disguise_voice=False))
    assert "[NAME]" in result.draft and "[NUMBER]" in result.draft
    assert "jonathan" not in result.draft.lower() and "baker" not in result.draft.lower()
    heard = " ".join(text for text, _, _ in recognized_in(result.audio, result.spans))
    assert "jonathan" not in heard and "baker" not in heard and not re.search(r"\d", heard)


def test_spans_are_reported_in_seconds_of_the_input():
    data = (AUDIO / "pii_number.wav").read_bytes()
    result = deidentify(data, DeidParams(voice=VOICE, max_seconds=60))
    (span,) = result.spans
    # The fixture has 0.5 s of room tone before "my number is", so the digits start after ~1.3 s.
    assert 1.0 < span.start < 2.0 and span.end > result.input_seconds - 1.0


def test_clean_speech_is_not_masked():
    data = (AUDIO / "speech_with_silence.wav").read_bytes()
    result = deidentify(data, DeidParams(voice=VOICE, max_seconds=60))
    # Nothing is taken for personal data or for unheard speech. flite's "jazz" gets a probability
    # right at MIN_WORD_PROBABILITY (0.20 or 0.21 by the machine's instruction set): where it falls
    # under, that word alone is masked as unclear, and nothing else.
    unsure = [w for w in result.words if w.probability < MIN_WORD_PROBABILITY]
    assert [s.kind for s in result.spans] == ["UNCLEAR"] * len(unsure)
    assert all(w.text.strip(".,").lower() == "jazz" for w in unsure)
    assert result.draft.replace("[UNCLEAR]", "jazz").lower().startswith("please play some jazz music in the kitchen")


def test_recognition_failure_fails_closed(tmp_path):
    data = (AUDIO / "pii_number.wav").read_bytes()
    with pytest.raises(DeidFailed) as caught:
        deidentify(data, DeidParams(voice=VOICE, max_seconds=60, asr_model=str(tmp_path)))
    assert caught.value.code == "asr_model_missing"


def test_words_next_to_masked_spans_stay_audible():
    data = (AUDIO / "pii_name_number.wav").read_bytes()
    result = deidentify(data, DeidParams(voice=VOICE, max_seconds=60, disguise_voice=False))
    heard = [text for text, _, _ in recognized_in(result.audio, result.spans)]
    # "Hi, my name is [NAME] and my number is [NUMBER]": the words between the two masks survive. ("Hi"
    # is recognized as "Height" with a probability about MIN_WORD_PROBABILITY, masked as unclear or not
    # by the machine's instruction set; between that tone and the name's, Whisper tiny may hear "my
    # name is" as "doing my": the cost is counted in bench/deid's WER.)
    assert "my name is [NAME] and my number is [NUMBER]" in result.draft
    assert "my" in heard and "number" in heard


def level_to(samples, reference, quieter_db):
    rms = lambda x: float(np.sqrt(np.mean(x ** 2)))  # noqa: E731
    return (samples * rms(reference) / rms(samples) * 10 ** (-quieter_db / 20)).astype(np.float32)


def load(path):
    samples, rate = sf.read(path, dtype="float32")
    assert rate == 16000
    return samples


def test_a_bystander_saying_a_number_under_the_command_holds_the_clip():
    # The hostile tester's clip: the owner asks about the weather, someone 8 dB quieter says a number.
    owner = load(DEMO_AUDIO / "weather.wav")
    bystander = level_to(load(AUDIO / "pii_number.wav"), owner, 8)
    clip = np.zeros(max(len(owner), len(bystander) + 4000), dtype=np.float32)
    clip[: len(owner)] += owner
    clip[4000:4000 + len(bystander)] += bystander
    with pytest.raises(DeidFailed) as held:
        deidentify(encode_wav(clip), DeidParams(voice=VOICE, max_seconds=60))
    assert held.value.code == "second_talker"


def test_a_quiet_aside_after_the_command_is_masked_and_kept_out_of_the_draft():
    owner = load(DEMO_AUDIO / "lights.wav")  # slt; then rms, 12 dB quieter, about the weather
    clip = np.concatenate([owner, level_to(load(DEMO_AUDIO / "weather.wav"), owner, 12)])
    result = deidentify(encode_wav(clip), DeidParams(voice=VOICE, max_seconds=60))
    assert "OTHER_VOICE" in {span.kind for span in result.spans}
    assert "lights" in result.draft.lower() and "weather" not in result.draft.lower()
    heard = " ".join(w.text.lower() for w in transcribe(result.audio))
    assert "lights" in heard and "weather" not in heard and "weekend" not in heard
