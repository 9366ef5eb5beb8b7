"""Forced alignment gives word boundaries where Whisper's are late, and declines what it cannot align."""

import soundfile as sf

from redaction.align import _decoder, align, pronounce
from redaction.asr import transcribe
from redaction.tokens import Token, tokenize
from redaction.vad import trim_silence
from tests.factories import AUDIO


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


def test_a_word_outside_the_dictionary_is_pronounced_from_its_parts_and_letters():
    decoder = _decoder()
    assert decoder.lookup_word("bakerheadexample") is None
    assert pronounce(decoder, "bakerheadexample") == " ".join(
        decoder.lookup_word(w) for w in ("baker", "head", "example"))
    assert pronounce(decoder, "qzx") == "K Z K S"
    assert pronounce(decoder, "mary_lee") is None


def test_a_misspelled_word_still_aligns_close_to_where_the_right_spelling_does():
    audio = trimmed("pii_number.wav")
    tokens = tokenize(transcribe(audio))
    number = next(i for i, t in enumerate(tokens) if t.text == "number")
    garbled = [Token("numbre", t.start, t.end, t.word) if i == number else t for i, t in enumerate(tokens)]
    right, wrong = align(audio, tokens), align(audio, garbled)
    assert right is not None and wrong is not None and wrong[number].text == "numbre"
    first_digit = next(i for i, t in enumerate(tokens) if t.text == "two")
    assert abs(wrong[first_digit].start - right[first_digit].start) <= 0.03
    assert abs(wrong[number].end - right[number].end) <= 0.08


def test_text_it_cannot_pronounce_is_declined():
    audio = trimmed("pii_number.wav")
    assert align(audio, [Token("my", 0.0, 0.3, 0), Token("x_y", 0.3, 0.9, 1)]) is None


def test_nothing_to_align_is_declined():
    assert align(trimmed("pii_number.wav"), []) is None
