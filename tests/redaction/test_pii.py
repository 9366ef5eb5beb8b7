"""Personal data in lowercase, unpunctuated, spelled-out speech is found; ordinary requests are left alone."""

import pytest

from redaction.asr import Word
from redaction.pii import (
    ADDRESS,
    EMAIL,
    NAME,
    NUMBER,
    PiiError,
    PiiSpan,
    detect,
    find_in_text,
    mask_text,
    merge,
    redacted_text,
    vocabulary,
)
from redaction.tokens import tokenize


def draft(text: str) -> str:
    words = [Word(w, i * 0.3, i * 0.3 + 0.25, 1.0) for i, w in enumerate(text.split())]
    tokens = tokenize(words)
    return redacted_text(words, tokens, detect(words, tokens))


@pytest.mark.parametrize("spoken,expected", [
    ("my number is two oh six five five five zero one nine eight", "my number is [NUMBER]"),
    ("my number is 2065550198", "my number is [NUMBER]"),
    ("card four one one one one one one one one one one one one one one one please",
     "card [NUMBER] please"),
    ("my social is zero seven eight zero five one one two zero", "my social is [NUMBER]"),
    ("my pin is one two three four", "my pin is [NUMBER]"),
    ("the code is four two", "the code is [NUMBER]"),
    ("call five five five double two one two", "call [NUMBER]"),
    ("it was eighteen fifty two thousand", "it was [NUMBER]"),
    ("send it to five five five one two one two", "send it [NUMBER]"),
])
def test_numbers_spoken_any_way_are_masked(spoken, expected):
    assert draft(spoken) == expected


@pytest.mark.parametrize("spoken,expected", [
    ("email jo dot baker at example dot com now", "email [EMAIL] now"),
    ("write to jo.baker@example.com", "write to [EMAIL]"),
    ("send it to mary underscore lee at mail dot co dot uk", "send it to [EMAIL]"),
])
def test_emails_written_or_spoken_are_masked(spoken, expected):
    assert draft(spoken) == expected


@pytest.mark.parametrize("spoken,expected", [
    ("i live at forty two maple street", "i live at [ADDRESS]"),
    ("deliver to 221 baker street apartment 4 today", "deliver [ADDRESS] today"),  # "to" may be "two"
    ("we moved to elm road last year", "we moved to [ADDRESS] last year"),
    ("deliver it to two one baker street", "deliver it [ADDRESS]"),  # 'to' may be the spoken 'two'
    ("deliver it to 221 baker street apartment of parliament for please", "deliver it [ADDRESS] please"),
    ("deliver it to 221 baker street of parliament for please", "deliver it [ADDRESS] please"),
    ("i live at forty two maple street in the blue house", "i live at [ADDRESS] in the blue house"),
    # "fourteen rue des lilas apartment two", the street's name misheard and no street word heard.
    ("I live at 14 root L. I lost apartment 2 near the park.", "I live at [ADDRESS] near the park."),
    ("the flat 2 doors down is empty", "the flat 2 doors down is empty"),  # no house number before it
    ("put 2 boxes on floor 3", "put 2 boxes on floor 3"),  # a building's floor
])
def test_street_addresses_are_masked(spoken, expected):
    assert draft(spoken) == expected


@pytest.mark.parametrize("spoken,expected", [
    ("hi my name is jonathan baker", "hi my name is [NAME]"),
    ("call doctor patel", "call [NAME]"),
    ("ask alexa to play music", "ask [NAME] to play music"),
    ("Hi, my name is Jonathan Baker.", "Hi, my name is [NAME]"),
    ("Please ask Dr. Padel to call me tomorrow.", "Please ask [NAME] to call me tomorrow."),
    ("Email. Mary underscorely at mail .co .uk. The photos", "Email. [EMAIL] The photos"),
])
def test_names_are_masked(spoken, expected):
    assert draft(spoken) == expected


def test_name_after_text_is_masked_even_if_the_cue_goes_with_it():
    result = draft("text sarah that i am late")
    assert "sarah" not in result and result.endswith("[NAME] that i am late")


@pytest.mark.parametrize("spoken", [
    "turn off the lights in the living room",
    "set an alarm for seven thirty",
    "what is the weather going to be like this weekend",
    "add bread milk and two bags of coffee to my shopping list",
    "text mom that i will be late",
    "call the office",
    "play music to the kitchen speaker",
])
def test_ordinary_requests_are_left_alone(spoken):
    assert draft(spoken) == spoken


def test_touching_spans_merge_and_keep_the_most_specific_kind():
    merged = merge([PiiSpan(NUMBER, 3, 5), PiiSpan(EMAIL, 0, 4), PiiSpan(NAME, 9, 9), PiiSpan(ADDRESS, 10, 11)])
    assert merged == [PiiSpan(EMAIL, 0, 5), PiiSpan(ADDRESS, 9, 11)]


@pytest.mark.parametrize("recognized,expected", [
    ("Send the file to JoDotBakerheadexample .com. Tonight.", "Send the file to [EMAIL] Tonight."),
    ("visit example.com for more", "visit [EMAIL] for more"),
])
def test_emails_as_a_recognizer_garbles_them_are_masked(recognized, expected):
    assert draft(recognized) == expected


def test_a_written_transcript_naming_someone_outside_the_vocabulary_is_held_from_export():
    assert find_in_text("tell okonkwo the car is ready") == ["NAME"]
    assert find_in_text("my plate is k seven x four two b") == ["NUMBER"]


def test_a_written_transcript_of_ordinary_speech_passes_the_export_check():
    for text in ("play yellow", "lights off", "what is the weather", "good night", "set a timer for ten minutes"):
        assert find_in_text(text) == [], text


def test_masking_a_written_text_keeps_its_masks_and_hides_what_is_left():
    assert mask_text("[NAME] was born on the 3rd of July 1984. Ask Siobhan.") == (
        "[NAME] was born on [NUMBER] Ask [NAME]")


def test_detection_fails_closed_when_its_vocabulary_cannot_be_read(monkeypatch, tmp_path):
    monkeypatch.setattr(vocabulary, "WORDS_FILE", tmp_path / "missing.txt")
    vocabulary._load.cache_clear()
    words = [Word("call", 0.0, 0.2, 0.9), Word("Okonkwo", 0.3, 0.6, 0.9)]
    try:
        with pytest.raises(PiiError):  # the pipeline holds a clip it could not check
            detect(words, tokenize(words))
    finally:
        vocabulary._load.cache_clear()
