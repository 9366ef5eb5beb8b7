"""How the benchmark's personal data is said: values rendered as the words a person would speak."""

from __future__ import annotations

import random
import re

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
         "nineteen")
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
ORDINALS = ("", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
            "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
            "eighteenth", "nineteenth", "twentieth")
TENS_ORDINALS = {20: "twentieth", 30: "thirtieth"}
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
# How a single letter is written for the synthesizers: flite and espeak say a lone letter by its name.
SYMBOLS = {".": "dot", "@": "at", "_": "underscore", "-": "dash"}


def number(n: int) -> str:
    """0 to 99 in words."""
    if n < 10:
        return DIGITS[n]
    if n < 20:
        return TEENS[n - 10]
    return TENS[n // 10] + ("" if n % 10 == 0 else " " + DIGITS[n % 10])


def ordinal(n: int) -> str:
    """1 to 31 as an ordinal: 'third', 'twenty first'."""
    if n <= 20:
        return ORDINALS[n]
    if n % 10 == 0:
        return TENS_ORDINALS[n]
    return f"{TENS[n // 10]} {ORDINALS[n % 10]}"


def year(y: int) -> str:
    """As people say years: 'nineteen eighty four', 'two thousand and three', 'twenty eleven'."""
    if 2000 <= y < 2010:
        return "two thousand" + (f" and {DIGITS[y - 2000]}" if y > 2000 else "")
    high, low = divmod(y, 100)
    return f"{number(high)} {'oh ' + DIGITS[low] if low < 10 else number(low)}"


def date(day: int, month: int, y: int, style: int) -> str:
    """A date of birth with the month's name, in one of four ways people say it."""
    name = MONTHS[month - 1]
    return [f"the {ordinal(day)} of {name} {year(y)}", f"{name} {ordinal(day)} {year(y)}",
            f"{ordinal(day)} {name} {year(y)}", f"{name} {ordinal(day)}"][style % 4]


def characters(text: str, style: str = "plain") -> list[str]:
    """Letters and digits said one by one; 'oh' says zero as oh, 'double' says a repeated digit as double."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if style == "double" and i + 1 < len(text) and text[i + 1] == ch and ch.isdigit():
            out += ["double", DIGITS[int(ch)]]
            i += 2
            continue
        if ch.isdigit():
            out.append("oh" if style == "oh" and ch == "0" else DIGITS[int(ch)])
        elif ch.isalpha():
            out.append(ch)
        i += 1
    return out


def grouped(text: str, groups: tuple[int, ...], style: str = "plain") -> str:
    """Characters said in groups, a comma (a short pause) between groups."""
    parts, at = [], 0
    for size in groups:
        parts.append(" ".join(characters(text[at:at + size], style)))
        at += size
    return ", ".join(parts)


def email(address: str) -> str:
    words = []
    for piece in re.findall(r"[a-z]+|\d+|.", address):
        if piece in SYMBOLS:
            words.append(SYMBOLS[piece])
        elif piece.isdigit():
            words += characters(piece)
        else:
            words.append(piece)
    return " ".join(words)


def name(first: str, surname: str, title: str, rng: random.Random) -> str:
    """Mostly given name and surname; sometimes the given name alone, or a title and surname."""
    roll = rng.random()
    if roll < 0.6:
        return f"{first} {surname}"
    if roll < 0.8:
        return first
    return f"{title} {surname}"


# Spoken number words and the digits a recognizer writes for them ("nineteen eighty four" -> 1984).
_UNIT_DIGITS = {**{w: str(n) for n, w in enumerate(DIGITS)}, "oh": "0"}
_TEEN_DIGITS = {w: str(10 + n) for n, w in enumerate(TEENS)}
_TENS_DIGITS = {w: str(n) for n, w in enumerate(TENS) if w}
_ORDINAL_DIGITS = {w: str(n) for n, w in enumerate(ORDINALS) if w} | {w: str(n) for n, w in TENS_ORDINALS.items()}


def digit_words(spoken: list[str]) -> set[str]:
    """The digit names of the numerals a recognizer may write for the spoken words: Whisper writes
    'nineteen eighty four' as 1984, which the product's tokens spell 'one nine eight four'. A set,
    not a sequence: leaks are counted word by word."""
    out: set[str] = set()
    for n, word in enumerate(spoken):
        following = spoken[n + 1] if n + 1 < len(spoken) else ""
        if word in _TENS_DIGITS:
            out.add(DIGITS[int(_TENS_DIGITS[word])])
            if following not in _UNIT_DIGITS and following not in _ORDINAL_DIGITS:
                out.add("zero")
        elif word in ("hundred", "thousand") and not any(following in t for t in (_UNIT_DIGITS, _TEEN_DIGITS,
                                                                                   _TENS_DIGITS)):
            out.add("zero")
        for table in (_UNIT_DIGITS, _TEEN_DIGITS, _ORDINAL_DIGITS):
            if word in table:
                out.update(DIGITS[int(d)] for d in table[word])
    return out
