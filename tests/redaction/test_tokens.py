"""Recognized words become lowercase tokens; numerals are spelled digit by digit with shared times."""

from redaction.asr import Word
from redaction.tokens import tokenize


def test_numerals_are_spelled_and_share_the_word_time():
    tokens = tokenize([Word(" 2065.", 1.0, 2.0, 0.9)])
    assert [t.text for t in tokens] == ["two", "zero", "six", "five"]
    assert tokens[0].start == 1.0 and tokens[-1].end == 2.0
    assert all(abs((t.end - t.start) - 0.25) < 1e-9 for t in tokens)


def test_written_email_becomes_spoken_tokens():
    tokens = tokenize([Word("jo.baker@example.com", 0, 1, 1)])
    assert [t.text for t in tokens] == ["jo", "dot", "baker", "at", "example", "dot", "com"]


def test_punctuation_and_case_are_dropped_and_word_index_kept():
    tokens = tokenize([Word(" Hi,", 0, 0.3, 1), Word("", 0.3, 0.4, 1), Word("THERE!", 0.4, 0.8, 1)])
    assert [(t.text, t.word) for t in tokens] == [("hi", 0), ("there", 2)]


def test_contractions_stay_one_word_as_the_dictionary_has_them():
    tokens = tokenize([Word("I'll", 0, 0.3, 1), Word("don\u2019t", 0.3, 0.6, 1)])
    assert [t.text for t in tokens] == ["i'll", "don't"]
