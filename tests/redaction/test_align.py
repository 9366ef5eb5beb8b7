"""Forced alignment gives word boundaries where Whisper's are late, and declines what it cannot align."""

import soundfile as sf

from redaction.align import align
from redaction.asr import transcribe
from redaction.tokens import Token, tokenize
from redaction.vad import trim_silence
from tests.conftest import AUDIO


def trimmed(name):
    samples, rate = sf.read(AUDIO / name, dtype="float32")
    return trim_silence(samples, rate).audio


def test_aligned_tokens_keep_text_and_order_and_find_the_first_digit_earlier():
    audio = trimmed("pii_number.wav")
    tokens = tokenize(transcribe(audio))
    aligned = align(audio, tokens)
    assert aligned is not None
    assert [t.text for t in aligned] == [t.text for t in tokens]
    assert all(a.start < a.end for a in aligned)
    assert all(x.end <= y.start + 1e-9 for x, y in zip(aligned, aligned[1:], strict=False))
    first_digit = next(i for i, t in enumerate(tokens) if t.text == "two")
    # Whisper puts the numeral's start late, after 'is' has ended; the aligner puts it where it is spoken.
    assert aligned[first_digit].start < tokens[first_digit].start - 0.1


def test_words_outside_the_dictionary_are_declined():
    audio = trimmed("pii_number.wav")
    tokens = [Token("my", 0.0, 0.3, 0), Token("qzxvbnmk", 0.3, 0.9, 1)]
    assert align(audio, tokens) is None


def test_nothing_to_align_is_declined():
    assert align(trimmed("pii_number.wav"), []) is None
