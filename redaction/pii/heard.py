"""Each token as the recognizer heard it: how sure it was, how it wrote the word, how common the word is."""

from __future__ import annotations

import re
from dataclasses import dataclass

from redaction.asr import Word
from redaction.pii import vocabulary
from redaction.tokens import Token

SENTENCE_END = re.compile(r"[.?!:;]['\")\]]*$")
# Letters and digits in one written word ("K7X42B", "SW1A"), unless it is an ordinal, a time of day or
# a quantity with its unit ("3rd", "7pm", "4k", "mp3").
_MIXED = re.compile(r"(?=[^\W_]*\d)(?=[^\W_]*[a-z])[^\W_]+", re.IGNORECASE)
_NOT_A_CODE = re.compile(
    r"\d+(st|nd|rd|th|s|am|pm|k|m|g|gb|mb|kb|tb|mph|kmh|kg|lb|lbs|oz|km|cm|mm|ml|l|p|x|hz|khz|ghz|v|w|kw|kwh"
    r"|min|mins|h|hr|hrs|sec|secs)|mp[34]|covid\d+|y2k|[23]d|ps[2-5]", re.IGNORECASE)
# A time of day as written ("10:30", "6.45"): digits, but not a number anyone owns.
_TIME = re.compile(r"\d{1,2}[:.]\d{2}([ap]\.?m\.?)?[.,?!]*$", re.IGNORECASE)
_LETTERS = re.compile(r"[^\W\d_]")
_CAMEL = re.compile(r"[a-z][A-Z]")


@dataclass(frozen=True)
class Heard:
    text: str  # the token, lowercase
    word: int  # index of the recognized word
    written: str  # that word as the recognizer wrote it
    probability: float  # the recognizer's confidence in the word
    sentence_start: bool  # the first token of a clip or of a sentence
    capitalized: bool  # written with a capital where no sentence starts, and words such as "July" are not
    camel: bool  # from a word written in pieces with capitals inside ("WhatsApp", "YouTube"): a brand
    first_of_word: bool
    code: bool  # from a word of letters and digits together ("K7X42B")
    time_of_day: bool  # from a written time ("10:30")
    level: int | None  # how common an English word it is (vocabulary.level), None when it is none


def hear(words: list[Word], tokens: list[Token]) -> list[Heard]:
    word_facts: dict[int, tuple[str, bool, bool, bool, bool, bool]] = {}
    heard: list[Heard] = []
    previous_word = -1
    for token in tokens:
        facts = word_facts.get(token.word)
        if facts is None:
            facts = word_facts[token.word] = _word_facts(words, token.word)
        written, starts, capital, camel, mixed, time_of_day = facts
        first_of_word = token.word != previous_word
        if not first_of_word:  # "McDonald", "JoDotBaker": each capitalized piece counts
            capital = _piece_capitalized(written, token.text)
        starts = starts and first_of_word
        heard.append(Heard(
            text=token.text, word=token.word, written=written, probability=words[token.word].probability,
            sentence_start=starts, capitalized=capital and not starts and not vocabulary.always_capitalized(token.text),
            camel=camel, first_of_word=first_of_word, code=mixed, time_of_day=time_of_day,
            level=vocabulary.level(token.text)))
        previous_word = token.word
    return heard


def _word_facts(words: list[Word], index: int) -> tuple[str, bool, bool, bool, bool, bool]:
    """What the way a word is written says: (written, starts a sentence, capitalized, camel case, a code,
    a time of day)."""
    written = words[index].text.strip()
    starts = index == 0 or bool(SENTENCE_END.search(words[index - 1].text.strip()))
    letters = _LETTERS.findall(written)
    capital = bool(letters) and letters[0].isupper()
    mixed = any(_MIXED.fullmatch(part) and not _NOT_A_CODE.fullmatch(part) for part in re.split(r"[^\w]+", written))
    return written, starts, capital, bool(_CAMEL.search(written)), mixed, bool(_TIME.match(written.lstrip("-")))


def _piece_capitalized(written: str, piece: str) -> bool:
    at = written.lower().find(piece)
    return at >= 0 and written[at].isupper()
