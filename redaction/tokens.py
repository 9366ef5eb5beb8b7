"""Recognized words as lowercase tokens with times: numerals spelled digit by digit, emails spoken."""

from __future__ import annotations

import re
from dataclasses import dataclass

from redaction.asr import Word

DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# Letters with inner apostrophes stay one word ("i'll", "o'brien"), as the aligner's dictionary has them.
_SPLIT = re.compile(r"[a-z]+(?:'[a-z]+)*|\d|[@.]")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


@dataclass(frozen=True)
class Token:
    text: str  # lowercase, no punctuation; digits spelled: "4" -> "four"
    start: float
    end: float
    word: int  # index of the recognized word it came from


def tokenize(words: list[Word]) -> list[Token]:
    """Split each word into tokens; a word of several tokens shares its time span evenly among them."""
    tokens: list[Token] = []
    for index, word in enumerate(words):
        # "JoDotBaker" is how a recognizer may write spoken "jo dot baker".
        raw = _CAMEL.sub(" ", word.text.strip().replace("\u2019", "'")).lower()
        pieces = _SPLIT.findall(raw)
        parts = []
        for n, piece in enumerate(pieces):
            if piece.isdigit():
                parts.append(DIGIT_NAMES[int(piece)])
            elif piece == "@":
                parts.append("at")
            elif piece == ".":
                # A dot followed by letters is spoken ("example.com", ".com"); a final one is punctuation.
                if n + 1 < len(pieces) and pieces[n + 1].isalpha():
                    parts.append("dot")
            else:
                parts.append(piece)
        if not parts:
            continue
        step = (word.end - word.start) / len(parts)
        for n, part in enumerate(parts):
            tokens.append(Token(part, word.start + n * step, word.start + (n + 1) * step, index))
    return tokens


def plain_text(tokens: list[Token]) -> str:
    return " ".join(token.text for token in tokens)
