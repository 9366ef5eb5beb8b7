"""Numbers people own, said in any grouping: phones, cards, bank accounts, national ids.

"four five three two, one one one one", "one two three, four five, six seven eight nine", "five hundred
and twelve", "oh seven seven double zero" are one run from its first digit to its last: glue words,
fillers, homophones ("to", "for") and one garbled word between digits do not cut it short.
"""

from __future__ import annotations

from redaction.pii.heard import Heard
from redaction.pii.spans import NUMBER, PiiSpan
from redaction.pii.vocabulary import FUNCTION_WORDS
from redaction.tokens import DIGIT_NAMES

# How many digits a spoken number word stands for, at least.
DIGIT_WORDS = {name: 1 for name in DIGIT_NAMES} | {"oh": 1, "o": 1, "nought": 1, "nil": 1}
TENS = {"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
        "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
MULTIPLIERS = {"double": 1, "triple": 2}  # "double five" is two digits: the word adds one to the next
MAGNITUDES = {"hundred": 2, "thousand": 3, "million": 6}
NUMBER_WORDS = DIGIT_WORDS.keys() | TENS | MULTIPLIERS.keys() | MAGNITUDES.keys()
NUMBER_GLUE = {"dash", "hyphen", "and", "point", "slash", "space", "comma", "then", "uh", "um", "er", "erm", "hmm"}
# Words a recognizer writes for spoken digits ("to" for "two"); they join a run next to them.
DIGIT_HOMOPHONES = {"to", "too", "for", "fore", "won", "ate", "free", "tree", "sex", "fife", "nein", "niner"}
NUMBER_CUES = {"number", "pin", "code", "account", "card", "social", "security", "zip", "postcode", "extension",
               "id", "passport", "license", "licence", "routing", "iban", "phone", "cvv", "mobile", "cell",
               "telephone", "landline", "sort", "bank", "insurance", "national", "nhs", "ssn", "tax", "policy",
               "reference", "booking", "order", "ticket", "confirmation", "tracking", "membership", "member",
               "serial", "customer", "invoice", "claim", "registration", "plate", "pension", "medicare", "patient",
               "birth", "born", "birthday", "dob"}
CUE_REACH = 5  # tokens before a run in which a cue counts
NUMBER_DIGITS = 4  # digits that make a run personal data without a cue
# Garbled words between two digits ("nine jubble zero" for "nine double zero", "twelve slash show
# three") are taken with them, two at most, when the recognizer was this unsure of them or they are
# no word; at either end of a number, when it was less sure still.
BRIDGE_PROBABILITY = 0.5
BRIDGE_ANY_WORD_PROBABILITY = 0.3  # even "of" or "and" is a garbled digit when heard this unsurely
MAX_BRIDGED = 2
BESIDE_PROBABILITY = 0.35
REACH_BESIDE = 2


def is_number_word(text: str) -> bool:
    return text in NUMBER_WORDS


def digit_weight(text: str) -> int:
    if text in TENS:
        return 2
    return DIGIT_WORDS.get(text, 0) + MULTIPLIERS.get(text, 0) + MAGNITUDES.get(text, 0)


def cued(texts: list[str], first: int, cues: set[str] = NUMBER_CUES, reach: int = CUE_REACH) -> bool:
    return any(text in cues for text in texts[max(0, first - reach):first])


def number_spans(heard: list[Heard]) -> list[PiiSpan]:
    """Runs of spoken digits: four or more digits anywhere, two or more after a cue like 'pin'."""
    texts = [h.text for h in heard]
    digit = [is_number_word(h.text) and not h.time_of_day for h in heard]
    spans = []
    n = 0
    while n < len(texts):
        if not digit[n]:
            n += 1
            continue
        start, digits = n, 0
        while n < len(texts):
            if digit[n]:
                digits += digit_weight(texts[n])
                n += 1
                continue
            bridged = 0
            while bridged < MAX_BRIDGED and n + bridged < len(texts) and not digit[n + bridged] and _joins_digits(
                    heard[n + bridged]):
                bridged += 1
            if not bridged and _between_numbers(heard, digit, n, digits):
                bridged = 1
            if bridged and n + bridged < len(texts) and digit[n + bridged]:
                n += bridged
            else:
                break
        if digits >= NUMBER_DIGITS or (cued(texts, start) and digits >= 2):
            first, last = start, n - 1
            if first > 0 and texts[first - 1] in DIGIT_HOMOPHONES:
                first -= 1
            if last + 1 < len(texts) and texts[last + 1] in DIGIT_HOMOPHONES:
                last += 1
            spans.append(reach_beside(heard, first, last, _unsure))
    return spans


def reach_beside(heard: list[Heard], first: int, last: int, takes) -> PiiSpan:
    """A span widened over up to REACH_BESIDE words on each side that `takes` accepts."""
    for _ in range(REACH_BESIDE):
        if first == 0 or heard[first].sentence_start or not takes(heard[first - 1]):
            break
        first -= 1
    for _ in range(REACH_BESIDE):
        if last + 1 >= len(heard) or heard[last + 1].sentence_start or not takes(heard[last + 1]):
            break
        last += 1
    return PiiSpan(NUMBER, first, last)


def _unsure(h: Heard) -> bool:
    """A word beside a number the recognizer was unsure of: most likely a digit it garbled."""
    return h.probability < BESIDE_PROBABILITY and not h.sentence_start


def _between_numbers(heard: list[Heard], digit: list[bool], n: int, digits_before: int) -> bool:
    """Any one word between digits, where a number of NUMBER_DIGITS lies on either side: "nine one I
    eight seven six five" is one number the recognizer heard a word into, not two."""
    if (n + 1 >= len(heard) or not digit[n + 1] or heard[n].sentence_start or heard[n + 1].sentence_start
            or heard[n].text in NUMBER_CUES):
        return False
    ahead, k = 0, n + 1
    while k < len(heard) and digit[k]:
        ahead += digit_weight(heard[k].text)
        k += 1
    return max(digits_before, ahead) >= NUMBER_DIGITS


def _joins_digits(between: Heard) -> bool:
    """A token between two digits that belongs to the number: glue, a homophone, or a garbled word.
    A cue ("fifty to account five five ...") begins the next number: it is not part of one."""
    if between.text in NUMBER_GLUE or between.text in DIGIT_HOMOPHONES:
        return True
    if between.sentence_start or between.text in NUMBER_CUES:
        return False
    if between.level is None or between.probability < BRIDGE_ANY_WORD_PROBABILITY:
        return True
    return between.probability < BRIDGE_PROBABILITY and between.text not in FUNCTION_WORDS
