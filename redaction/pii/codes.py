"""Codes spelled letter by letter and digit by digit: licence plates, postcodes, booking references.

A recognizer writes them in one piece ("K7X42B", "SW1A 1AA") or as it hears each symbol ("k seven x
four two b", "a b c one two three", "zed four double seven why tee"). Three symbols or more with a
letter and a digit among them make a code; so do three spelled letters alone (a spelled name).
"""

from __future__ import annotations

import re

from redaction.pii.heard import Heard
from redaction.pii.numbers import DIGIT_HOMOPHONES, DIGIT_WORDS, MULTIPLIERS, NUMBER_CUES, TENS, cued, reach_beside
from redaction.pii.spans import PiiSpan

# Single letters that are no English word, and the names of letters that are none either.
CLEAR_LETTERS = set("bcdefghjklmnpqrstuvwxyz") | {"zed", "zee", "aitch", "haitch", "cee", "dee", "eff", "ess",
                                                  "vee", "wye"}
# Letters that are also words ("a", "i") and letter names heard as words ("see" for C, "why" for Y);
# the everyday ones stay at the end of a code only beside a spelled letter ("a b c"), the rarer ones
# whenever what they end is a code ("seven why tee").
EVERYDAY_WORD_LETTERS = {"a", "i", "o", "be", "see", "sea", "you", "are", "or"}
WORD_LETTERS = EVERYDAY_WORD_LETTERS | {"bee", "ee", "gee", "jay", "kay", "el", "ell", "em", "en", "pee", "cue",
                                        "queue", "ar", "tee", "tea", "ex", "why", "aye", "eye"}
CODE_BESIDE_PROBABILITY = 0.35
CODE_GLUE = {"dash", "hyphen", "slash", "space"}
CODE_CUES = NUMBER_CUES | {"postcode", "post", "plate", "reg", "registration", "reference", "ref", "code", "vin"}
# Written in capitals, two or three letters, and no word: a spelled piece of a code ("QQ" in "QQ 123456C").
_CAPITALS = re.compile(r"[A-Z]{2,3}[.,?!]?$")
KNOWN_ACRONYMS = {"tv", "ok", "uk", "us", "usa", "pm", "am", "dj", "bbc", "cnn", "nhs", "gps", "usb", "id", "pin",
                  "atm", "diy", "faq", "asap", "eta", "ai", "pc", "cd", "dvd", "hd", "fm", "ac", "dc", "mr",
                  "mrs", "ms", "dr", "st", "eu", "un", "nba", "nfl", "nyc", "la", "bbq", "vip", "ceo", "abc"}


def code_spans(heard: list[Heard]) -> list[PiiSpan]:
    spans = []
    n = 0
    while n < len(heard):
        if _kind(heard[n]) is None:
            n += 1
            continue
        start = n
        while n < len(heard) and (_kind(heard[n]) is not None or (
                heard[n].text in CODE_GLUE and n + 1 < len(heard) and _kind(heard[n + 1]) is not None)):
            n += 1
        first, last = _trim(heard, start, n - 1)
        if first is not None and _is_code(heard, first, last):
            spans.append(reach_beside(heard, first, last, _symbol_beside))
    # A word written as a code is one whatever surrounds it.
    spans.extend(reach_beside(heard, n, n, _symbol_beside) for n, h in enumerate(heard) if h.code)
    return spans


def _symbol_beside(h: Heard) -> bool:
    """A word beside a code that is most likely one more symbol of it: a letter or a digit misheard
    ("case 7X4 to be" for "k seven x four two b"), or a word the recognizer was unsure of."""
    if h.sentence_start:
        return False
    if h.text in EVERYDAY_WORD_LETTERS:
        return h.probability < CODE_BESIDE_PROBABILITY
    return (h.text in WORD_LETTERS or h.text in DIGIT_HOMOPHONES or _kind(h) is not None
            or h.probability < CODE_BESIDE_PROBABILITY)


def _kind(h: Heard) -> str | None:
    """'digit', 'letter' (clearly a spelled letter), 'word' (a letter that is also a word), or None."""
    if h.code:
        return "code"
    if h.time_of_day:
        return None
    if h.text in DIGIT_WORDS or h.text in TENS or h.text in MULTIPLIERS:
        return "digit"
    if h.text in CLEAR_LETTERS:
        return "letter"
    if h.text in WORD_LETTERS:
        return "word"
    if _CAPITALS.match(h.written) and h.level is None and h.text not in KNOWN_ACRONYMS:
        return "letter"
    return None


def _trim(heard: list[Heard], first: int, last: int) -> tuple[int | None, int]:
    """Letters that are also words stay at the ends of a run only where they are likely spelled."""
    core_first, core_last = first, last
    while core_first <= core_last and _kind(heard[core_first]) == "word":
        core_first += 1
    while core_last >= core_first and _kind(heard[core_last]) == "word":
        core_last -= 1
    if core_first > core_last:
        return None, last
    is_code = _is_code(heard, core_first, core_last)
    spelled = is_code and any(_kind(h) == "letter" for h in heard[core_first:core_last + 1])

    def stays(n: int, toward_core: int) -> bool:
        if heard[n].text in EVERYDAY_WORD_LETTERS:  # "a" in "a b c", "s w one a one a a"; not "is a K7X42B"
            return spelled or _kind(heard[toward_core]) == "letter"
        return is_code or _kind(heard[toward_core]) in {"letter", "code"}

    while first < core_first and not stays(first, first + 1):
        first += 1
    while last > core_last and not stays(last, last - 1):
        last -= 1
    # What stays of the ends is kept only as a whole: a letter that did not stay cuts off the ones outside it.
    for n in range(core_first - 1, first - 1, -1):
        if not stays(n, n + 1):
            first = n + 1
            break
    for n in range(core_last + 1, last + 1):
        if not stays(n, n - 1):
            last = n - 1
            break
    return first, last


def _is_code(heard: list[Heard], first: int, last: int) -> bool:
    kinds = [_kind(h) for h in heard[first:last + 1]]
    symbols = sum(kind is not None for kind in kinds)
    letters, digits = kinds.count("letter"), kinds.count("digit")
    if "code" in kinds:
        return True
    if symbols >= 3 and letters >= 1 and digits >= 1:
        return True
    if letters >= 3:
        return True
    return symbols >= 2 and letters >= 1 and cued([h.text for h in heard], first, CODE_CUES)
