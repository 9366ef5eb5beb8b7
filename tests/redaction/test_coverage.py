"""Speech the recognizer did not turn into confident words is found, so it can be masked or held."""

import numpy as np
import pytest
import soundfile as sf

from redaction.asr import Segment, Word, recognize
from redaction.coverage import (
    MIN_MEAN_PROBABILITY,
    check_coverage,
    syllables,
    word_reach,
)
from redaction.vad import trim_silence
from tests.factories import AUDIO, DEMO_AUDIO

FRAME = 0.03


def speech_between(*stretches, seconds=6.0):
    times = np.arange(int(seconds / FRAME)) * FRAME
    return np.any([(times >= a) & (times < b) for a, b in stretches], axis=0)


def test_speech_no_word_accounts_for_is_uncovered():
    speech = speech_between((0.0, 1.5), (3.0, 4.0))  # the owner, then a second stretch nobody wrote down
    words = [Word("turn", 0.0, 0.4, 0.9), Word("off", 0.4, 0.7, 0.9), Word("the", 0.7, 0.9, 0.9),
             Word("lights", 0.9, 1.4, 0.95)]
    coverage = check_coverage(speech, words)
    assert coverage.hold == ""
    ((start, end),) = coverage.uncovered
    assert 2.9 <= start <= 3.1 and 3.9 <= end <= 4.1
    assert 0.3 < coverage.uncovered_share < 0.5


def test_a_word_stretched_over_unheard_speech_covers_only_what_it_can_say():
    speech = speech_between((0.0, 4.0))
    # The recognizer put "yes" over four seconds of speech: one syllable covers well under a second.
    coverage = check_coverage(speech, [Word("okay", 0.0, 0.5, 0.9), Word("yes", 0.5, 4.0, 0.9)])
    assert coverage.uncovered and coverage.uncovered[0][0] < 1.5 and coverage.uncovered[-1][1] >= 3.9


def test_unsure_words_are_masked_and_named():
    speech = speech_between((0.0, 2.4))
    words = [Word("call", 0.0, 0.4, 0.95), Word("Siobhan", 0.4, 1.0, 0.1), Word("now", 1.0, 1.3, 0.9),
             Word("please", 1.3, 2.4, 0.9)]
    coverage = check_coverage(speech, words)
    assert coverage.doubtful == [1]  # the pipeline masks it, timed by alignment (test_deid_pipeline)
    assert coverage.uncovered_share == pytest.approx(0.6 / 2.4, abs=0.05)  # counted as not heard


def test_no_lexical_word_while_there_is_speech_is_held():
    speech = speech_between((0.0, 3.0))
    for written in (["..."], ["♪"], ["-", "…"], []):
        coverage = check_coverage(speech, [Word(text, 0.0, 3.0, 0.9) for text in written])
        assert coverage.hold == "uncovered_speech", written


def test_words_covering_a_fraction_of_the_speech_are_held():
    speech = speech_between((0.0, 7.0), seconds=7.0)
    coverage = check_coverage(speech, [Word("hello", 3.0, 3.6, 0.95)])
    assert coverage.hold == "uncovered_speech" and coverage.uncovered_share > 0.8


def test_a_recognizer_that_guessed_is_held_for_low_confidence():
    speech = speech_between((0.0, 2.0))
    guessed = [Word(text, n * 0.5, n * 0.5 + 0.5, MIN_MEAN_PROBABILITY / 2) for n, text in
               enumerate(["we", "love", "it", "so"])]
    assert check_coverage(speech, guessed).hold == "low_confidence"
    sure = [Word(w.text, w.start, w.end, 0.9) for w in guessed]
    looping = [Segment(0.0, 2.0, -0.3, 0.1, 8.4)]
    assert check_coverage(speech, sure).hold == ""
    assert check_coverage(speech, sure, looping).hold == "low_confidence"
    unsure_segment = [Segment(0.0, 2.0, -1.5, 0.1, 1.0)]
    assert check_coverage(speech, sure, unsure_segment).hold == "low_confidence"


def test_syllables_and_reach():
    assert syllables("weather") == 2 and syllables("a") == 1
    assert syllables("206550198") > 9  # a numeral is said digit by digit
    start, end = word_reach(Word("yes", 1.0, 5.0, 0.9))
    assert start < 1.0 and end < 2.0


def load(path):
    samples, rate = sf.read(path, dtype="float32")
    assert rate == 16000
    return samples


def covered(samples):
    trimmed = trim_silence(samples, 16000)
    words, segments = recognize(trimmed.audio)
    return check_coverage(trimmed.speech, words, segments)


def test_clean_single_speaker_clips_pass_with_nothing_uncovered():
    for path in [DEMO_AUDIO / "weather.wav", DEMO_AUDIO / "lights.wav", AUDIO / "speech_with_silence.wav"]:
        coverage = covered(load(path))
        assert coverage.hold == "" and coverage.uncovered_share < 0.1, (path.name, coverage)


def test_speech_in_no_language_the_recognizer_knows_is_held():
    # Time-reversed speech keeps a voice's sounds and rhythm but is no language: a stand-in for one
    # the English model cannot read.
    for path in [DEMO_AUDIO / "weather.wav", DEMO_AUDIO / "shopping.wav", AUDIO / "speech_with_silence.wav",
                 AUDIO / "pii_name_number.wav"]:
        coverage = covered(load(path)[::-1].copy())
        assert coverage.hold in {"low_confidence", "uncovered_speech"}, (path.name, coverage)
