"""Recognized clips written the way Whisper writes them, for the personal-data tests."""

from redaction.asr import Word
from redaction.pii import detect
from redaction.tokens import tokenize


def masked(recognized: str) -> list[str]:
    """The words of a recognized clip that the masks cover, as written; "word~0.2" is a word heard with
    confidence 0.2 (others 0.9)."""
    words = []
    for n, item in enumerate(recognized.split()):
        text, _, probability = item.partition("~")
        words.append(Word(text, n * 0.3, n * 0.3 + 0.25, float(probability or 0.9)))
    tokens = tokenize(words)
    hidden = {tokens[k].word for span in detect(words, tokens) for k in range(span.first, span.last + 1)}
    return [word.text for n, word in enumerate(words) if n in hidden]
