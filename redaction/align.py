"""Forced alignment of recognized tokens with pocketsphinx, for word boundaries to tens of milliseconds."""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import numpy as np

from redaction.tokens import Token

RATE = 16_000
FRAMES_PER_SECOND = 100
NOT_WORDS = {"<s>", "</s>", "<sil>"}
# Words the recognizer writes that the dictionary lacks ("padel", "bakerheadexample") are given a
# pronunciation: dictionary words they are made of, and letter rules for what is left. Alignment only
# needs the phones to last about as long as the word; the words around anchor its boundaries.
LETTER_PHONES = {
    "ch": "CH", "sh": "SH", "th": "TH", "ph": "F", "ck": "K", "ng": "NG", "qu": "K W", "ee": "IY",
    "ea": "IY", "oo": "UW", "ou": "AW", "ai": "EY", "ay": "EY", "oa": "OW", "igh": "AY",
    "a": "AE", "b": "B", "c": "K", "d": "D", "e": "EH", "f": "F", "g": "G", "h": "HH", "i": "IH",
    "j": "JH", "k": "K", "l": "L", "m": "M", "n": "N", "o": "AA", "p": "P", "q": "K", "r": "R",
    "s": "S", "t": "T", "u": "AH", "v": "V", "w": "W", "x": "K S", "y": "IY", "z": "Z", "'": "",
}
LETTER_COST = 3  # per letter rule; a dictionary piece costs 1, so known words win where they fit
MAX_PIECE = 20
MAX_ADDED_WORDS = 5_000  # the dictionary grows by each new spelling; start afresh past this
_lock = threading.Lock()
_added: set[str] = set()


@lru_cache(maxsize=1)
def _decoder():
    from pocketsphinx import Decoder

    # Wide beams: alignment follows a known word sequence, so pruning only risks losing it.
    return Decoder(samprate=RATE, loglevel="FATAL", beam=1e-80, wbeam=1e-60, pbeam=1e-80, lw=1.0)


def pronounce(decoder, text: str) -> str | None:
    """Phones for a word outside the dictionary: the cheapest cover of its letters by dictionary
    words of two or more letters (cost 1 each) and letter rules (cost LETTER_COST each)."""
    if not re.fullmatch(r"[a-z']+", text):
        return None
    n = len(text)
    best: list[tuple[float, list[str]] | None] = [None] * (n + 1)
    best[0] = (0.0, [])
    for end in range(1, n + 1):
        for start in range(max(0, end - MAX_PIECE), end):
            if best[start] is None:
                continue
            piece = text[start:end]
            phones = decoder.lookup_word(piece) if len(piece) >= 2 else None
            cost = 1.0
            if phones is None and piece in LETTER_PHONES:
                phones, cost = LETTER_PHONES[piece], LETTER_COST
            if phones is None:
                continue
            total = best[start][0] + cost
            if best[end] is None or total < best[end][0]:
                best[end] = (total, best[start][1] + phones.split())
    if best[n] is None:
        return None
    # A doubled letter ("ll") is one sound.
    phones = [p for k, p in enumerate(best[n][1]) if k == 0 or p != best[n][1][k - 1]]
    return " ".join(phones) or None


def _ensure_words(decoder, texts: list[str]):
    """The decoder, with every text in its dictionary, or None where a text cannot be pronounced."""
    missing = {text for text in texts if decoder.lookup_word(text) is None}
    if not missing:
        return decoder
    if len(_added) + len(missing) > MAX_ADDED_WORDS:
        _decoder.cache_clear()
        _added.clear()
        decoder = _decoder()
        missing = {text for text in texts if decoder.lookup_word(text) is None}
    pronounced = [(text, pronounce(decoder, text)) for text in sorted(missing)]
    if any(phones is None for _, phones in pronounced):
        return None
    for n, (text, phones) in enumerate(pronounced):
        # Rebuilding the search costs tens of milliseconds: once, after the last word.
        decoder.add_word(text, phones, update=n == len(pronounced) - 1)
        _added.add(text)
    return decoder


def align(audio: np.ndarray, tokens: list[Token]) -> list[Token] | None:
    """The same tokens with pocketsphinx's word boundaries, or None where alignment cannot vouch
    for them (a token it cannot pronounce, a different word count, no result)."""
    if not tokens:
        return None
    with _lock:
        decoder = _ensure_words(_decoder(), [token.text for token in tokens])
        if decoder is None:
            return None
        pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        try:
            decoder.set_align_text(" ".join(token.text for token in tokens))
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            if decoder.hyp() is None:
                return None
            segments = [s for s in decoder.seg() if s.word.split("(")[0] not in NOT_WORDS
                        and not s.word.startswith("[")]
        except RuntimeError:
            return None
    if [s.word.split("(")[0] for s in segments] != [token.text for token in tokens]:
        return None
    return [
        Token(token.text, s.start_frame / FRAMES_PER_SECOND, (s.end_frame + 1) / FRAMES_PER_SECOND, token.word)
        for token, s in zip(tokens, segments, strict=True)
    ]
