"""Where a person is reached: emails, written or spoken, and street addresses with their units."""

from __future__ import annotations

from redaction.pii.heard import Heard
from redaction.pii.numbers import DIGIT_HOMOPHONES, is_number_word
from redaction.pii.spans import ADDRESS, EMAIL, PiiSpan
from redaction.pii.vocabulary import COMMON, FUNCTION_WORDS, MOST_COMMON

EMAIL_TLDS = {"com", "org", "net", "edu", "gov", "io", "co", "uk", "de", "fr", "us", "info", "biz", "me", "ca"}
EMAIL_GLUE = {"dot", "underscore", "underscores", "dash", "hyphen", "period"}
STREET_SUFFIXES = {"street", "st", "avenue", "ave", "road", "rd", "lane", "ln", "drive", "dr", "boulevard",
                   "blvd", "way", "court", "ct", "place", "pl", "terrace", "circle", "highway", "parkway",
                   "square", "crescent", "close", "alley", "row", "trail", "gardens", "grove", "mews"}
# Street words that are also everyday words ("the pharmacy close", "the hall way"): without a house
# number they need a street name before them that is written as a name or is a rare word.
EVERYDAY_STREET_WORDS = {"way", "court", "place", "square", "circle", "close", "row", "trail", "drive", "gardens",
                         "grove", "terrace", "crescent", "alley"}
UNIT_WORDS = {"apartment", "apt", "unit", "suite", "flat", "floor"}
UNIT_NUMBER_REACH = 3  # words after a street in which a unit or its number may be
# "I live at fourteen rue des lilas apartment two", the street's name misheard and no street word: a
# house number this many words before a unit and its number places a person as well.
HOUSE_NUMBER_REACH = 5
NUMBERED_UNITS = UNIT_WORDS - {"floor"}  # "two boxes on floor three" is a building's floor, not a home
TITLES_LIKE_STREETS = {"dr", "st"}  # "ask dr patel", "st john": titles, unless a house number comes first
# Words that lead into an email or an address and are never part of one.
LEAD_IN_WORDS = FUNCTION_WORDS | {"mom", "mum", "dad", "home", "work", "back", "email", "mail", "send", "write",
                                  "contact", "visit", "call", "text", "ask", "tell", "message", "remind", "dial",
                                  "phone", "ring", "name", "names", "address"}


def email_spans(texts: list[str]) -> list[PiiSpan]:
    """Emails as spoken or as a recognizer garbles them: anchored on 'dot <tld>'.

    From the top-level domain, walk back over (word, glue) pairs and an 'at', then take the word
    before: "jo dot baker at example dot com", "jo dot bakerhead example dot com".
    """
    spans = []
    for n in range(1, len(texts)):
        if texts[n] not in EMAIL_TLDS or texts[n - 1] not in EMAIL_GLUE:
            continue
        start, saw_at = n - 1, False
        while start >= 1 and (texts[start] in EMAIL_GLUE or texts[start] == "at" or texts[start - 1] in EMAIL_GLUE
                              or texts[start - 1] == "at"):
            saw_at = saw_at or texts[start] == "at" or texts[start - 1] == "at"
            start -= 1
        # A recognizer often splits or garbles the user part: take up to two more words before it.
        for _ in range(2 if saw_at else 1):
            if start >= 1 and texts[start - 1] not in LEAD_IN_WORDS:
                start -= 1
        spans.append(PiiSpan(EMAIL, start, n))
    return spans


def address_spans(heard: list[Heard]) -> list[PiiSpan]:
    """A house number followed within four words by a street word, with any unit number after it."""
    texts = [h.text for h in heard]
    spans = []
    for n, text in enumerate(texts):
        if text not in STREET_SUFFIXES or _ordinal_suffix(heard, n):
            continue
        if text in EVERYDAY_STREET_WORDS and (n == 0 or texts[n - 1] in LEAD_IN_WORDS):
            continue  # "two cars in the drive", "the pharmacy close": no street's name before it
        start = None
        for back in range(n - 1, max(-1, n - 6), -1):
            if is_number_word(texts[back]) and not heard[back].time_of_day:
                start = back
                while start - 1 >= 0 and (is_number_word(texts[start - 1]) or texts[start - 1] in DIGIT_HOMOPHONES):
                    start -= 1
                break
        if start is None:
            # "I live on Maple Street": the street name alone still places a person; but "ask dr
            # patel" is a title, so the short forms that are also titles need a house number.
            everyday = text in EVERYDAY_STREET_WORDS
            if n >= 1 and text not in TITLES_LIKE_STREETS and _street_name(heard[n - 1], everyday=everyday):
                start = n - 1
            else:
                continue
        # A unit said before the house number: "flat two, nine harrow road".
        if start >= 2 and texts[start - 2] in UNIT_WORDS and (is_number_word(texts[start - 1])
                                                             or texts[start - 1] in DIGIT_HOMOPHONES):
            start -= 2
        elif start >= 1 and texts[start - 1] in UNIT_WORDS:
            start -= 1
        end = n
        # A unit and its number, even misheard: "apartment for", "of parliament for" (apartment four).
        while True:
            ahead = texts[end + 1:end + 1 + UNIT_NUMBER_REACH]
            unit = [k for k, word in enumerate(ahead)
                    if word in UNIT_WORDS or is_number_word(word) or word in DIGIT_HOMOPHONES]
            if not unit:
                break
            end += unit[-1] + 1
        if texts[end] in UNIT_WORDS and end + 1 < len(texts) and texts[end + 1] not in {
                "please", "and", "in", "on", "thanks", "thank"}:
            end += 1  # the word after a unit word is its number, however it was heard
        spans.append(PiiSpan(ADDRESS, start, end))
    return spans + _house_to_unit(heard, spans)


def _house_to_unit(heard: list[Heard], found: list[PiiSpan]) -> list[PiiSpan]:
    """From a house number to a numbered unit said within HOUSE_NUMBER_REACH words after it, where no
    street word was heard between them."""
    texts = [h.text for h in heard]
    spans = []
    for unit, text in enumerate(texts[:-1]):
        said = texts[unit + 1]
        if text not in NUMBERED_UNITS or not (is_number_word(said) or said in DIGIT_HOMOPHONES):
            continue
        if any(span.first <= unit <= span.last for span in found):
            continue
        house = next((k for k in range(unit - 1, max(-1, unit - 1 - HOUSE_NUMBER_REACH), -1)
                      if is_number_word(texts[k]) and not heard[k].time_of_day), None)
        if house is None:  # a full stop between them proves nothing: Whisper writes "L." for "lilas"
            continue
        while house - 1 >= 0 and is_number_word(texts[house - 1]):
            house -= 1
        last = unit + 1
        while last + 1 < len(texts) and is_number_word(texts[last + 1]):
            last += 1
        spans.append(PiiSpan(ADDRESS, house, last))
    return spans


def _ordinal_suffix(heard: list[Heard], n: int) -> bool:
    """'rd' in '3rd', 'st' in '21st': part of a written number, not a street."""
    return n > 0 and heard[n - 1].word == heard[n].word and is_number_word(heard[n - 1].text)


def _street_name(before: Heard, everyday: bool) -> bool:
    """A street's name without a house number: written as a name, or no common word ("Maple
    Street", "elm road"; not "the high street", "the pharmacy close")."""
    if before.text in LEAD_IN_WORDS or is_number_word(before.text):
        return False
    return before.capitalized or before.level is None or before.level > (COMMON if everyday else MOST_COMMON)
