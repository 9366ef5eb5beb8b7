"""Dates of birth: a day with its month, with the month's name, its year and the words between them.

"the third of july nineteen eighty four", "July 3rd, 1990", "march 14 1985", "born june ninth two
thousand and two". A date is masked whole when it has a year (a full date is how people are told
apart), or when a birth cue is near it ("born", "birthday", "date of birth", "dob"). A day and month
alone in a command ("remind me on the fourth of july") is a calendar date and is left: it says when,
not who. Numeric dates ("oh seven slash one four slash nineteen ninety") are digit runs, found by
numbers.py.
"""

from __future__ import annotations

from redaction.pii.heard import Heard
from redaction.pii.numbers import DIGIT_WORDS
from redaction.pii.spans import NUMBER, PiiSpan
from redaction.tokens import DIGIT_NAMES

MONTHS = {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december", "jan", "feb", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
ORDINALS = {"first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
            "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
            "eighteenth", "nineteenth", "twentieth", "thirtieth"}
ORDINAL_SUFFIXES = {"st", "nd", "rd", "th"}
UNITS = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
TEENS = {"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
         "nineteen"}
DECADES = {"twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
BIRTH_CUES = {"born", "birth", "birthday", "birthdate", "dob", "bday", "birthdays"}
CUE_BEFORE, CUE_AFTER = 8, 4  # tokens around a date in which a birth cue counts


def date_spans(heard: list[Heard]) -> list[PiiSpan]:
    texts = [h.text for h in heard]
    spans = []
    taken = -1
    for n in range(len(texts)):
        if n <= taken:
            continue
        found = _date_at(heard, texts, n)
        if found is None:
            continue
        first, last, has_year = found
        if has_year or _birth_cued(texts, first, last):
            spans.append(PiiSpan(NUMBER, first, last))
            taken = last
    # A year alone next to a birth cue: "born in nineteen eighty four".
    for n in range(len(texts)):
        if n > taken and texts[n] in BIRTH_CUES:
            for k in range(n + 1, min(len(texts), n + 4)):
                end = _year(texts, k)
                if end is not None:
                    spans.append(PiiSpan(NUMBER, k, end))
                    taken = end
                    break
    return spans


def _date_at(heard: list[Heard], texts: list[str], n: int) -> tuple[int, int, bool] | None:
    """A date starting at token n: (first, last, has a year), or None."""
    first = n
    k = n + 1 if texts[n] == "the" else n
    day_end = _day(heard, k)
    if day_end is not None:  # [the] DAY [of] MONTH [YEAR]
        m = day_end + 1
        if m < len(texts) and texts[m] == "of":
            m += 1
        if m < len(texts) and texts[m] in MONTHS:
            return _with_year(texts, first, m)
        return None
    if texts[n] in MONTHS:  # MONTH [the] DAY [YEAR], MONTH YEAR
        if texts[n] in {"may", "march"} and not _day_or_year_follows(heard, n + 1):
            return None  # the verb, not the month
        m = n + 1
        if m < len(texts) and texts[m] == "the":
            m += 1
        day_end = _day(heard, m)
        if day_end is not None:
            return _with_year(texts, first, day_end)
        year_end = _year(texts, n + 1)
        if year_end is not None:
            return first, year_end, True
    return None


def _day_or_year_follows(heard: list[Heard], n: int) -> bool:
    if n < len(heard) and heard[n].text == "the":
        n += 1
    return _day(heard, n) is not None or _year([h.text for h in heard], n) is not None


def _with_year(texts: list[str], first: int, last: int) -> tuple[int, int, bool]:
    k = last + 1
    if k < len(texts) and texts[k] in {"of", "in"}:
        k += 1
    year_end = _year(texts, k)
    if year_end is not None:
        return first, year_end, True
    return first, last, False


def _day(heard: list[Heard], n: int) -> int | None:
    """A day of the month at n, spoken or written: 'third', 'twenty first', '14', '21st'; its last token."""
    if n >= len(heard):
        return None
    text = heard[n].text
    if text in DIGIT_NAMES and any(c.isdigit() for c in heard[n].written):  # "14", "3rd", "21st,": one word
        end = n
        while end + 1 < len(heard) and heard[end + 1].word == heard[n].word and end + 1 - n < 3:
            end += 1
        pieces = [h.text for h in heard[n:end + 1]]
        digits = [p for p in pieces if p in DIGIT_NAMES]
        if 1 <= len(digits) <= 2 and all(p in DIGIT_NAMES or p in ORDINAL_SUFFIXES for p in pieces):
            return end
        return None
    following = heard[n + 1].text if n + 1 < len(heard) else ""
    if text in ORDINALS:
        return n
    if text in {"twenty", "thirty"}:
        if following in ORDINALS or following in UNITS:
            return n + 1
        return n if text == "twenty" else None
    if text in TEENS or text in UNITS:
        return n + 1 if following in ORDINAL_SUFFIXES else n
    return None


def _year(texts: list[str], n: int) -> int | None:
    """A year at n: 'nineteen eighty four', 'two thousand and two', 'twenty twenty', '1984'; its last token."""
    if n >= len(texts):
        return None
    digits = 0
    while n + digits < len(texts) and texts[n + digits] in DIGIT_WORDS and digits < 4:
        digits += 1
    if digits == 4:
        return n + 3
    text = texts[n]
    if text in {"nineteen", "eighteen", "twenty"} and n + 1 < len(texts):
        after = texts[n + 1]
        if after in DECADES:
            return n + 2 if n + 2 < len(texts) and texts[n + 2] in UNITS else n + 1
        if after in TEENS:
            return n + 1
        if after in {"oh", "o", "hundred"}:
            return n + 2 if n + 2 < len(texts) and texts[n + 2] in UNITS else n + 1
    if text == "two" and n + 1 < len(texts) and texts[n + 1] == "thousand":
        k = n + 2
        if k < len(texts) and texts[k] == "and":
            k += 1
        if k < len(texts) and (texts[k] in UNITS or texts[k] in TEENS):
            return k
        if k < len(texts) and texts[k] == "twenty":
            return k + 1 if k + 1 < len(texts) and texts[k + 1] in UNITS else k
        return n + 1
    return None


def _birth_cued(texts: list[str], first: int, last: int) -> bool:
    around = texts[max(0, first - CUE_BEFORE):first] + texts[last + 1:last + 1 + CUE_AFTER]
    return any(text in BIRTH_CUES for text in around) or "of birth" in " ".join(around)
