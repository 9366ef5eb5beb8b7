"""Forced alignment of recognized tokens with pocketsphinx, for word boundaries to tens of milliseconds."""

from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np

from redaction.tokens import Token

RATE = 16_000
FRAMES_PER_SECOND = 100
NOT_WORDS = {"<s>", "</s>", "<sil>"}
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _decoder():
    from pocketsphinx import Decoder

    # Wide beams: alignment follows a known word sequence, so pruning only risks losing it.
    return Decoder(samprate=RATE, loglevel="FATAL", beam=1e-80, wbeam=1e-60, pbeam=1e-80, lw=1.0)


def align(audio: np.ndarray, tokens: list[Token]) -> list[Token] | None:
    """The same tokens with pocketsphinx's word boundaries, or None where alignment cannot vouch
    for them (a token not in its dictionary, a different word count, no result)."""
    if not tokens:
        return None
    with _lock:
        decoder = _decoder()
        if any(decoder.lookup_word(token.text) is None for token in tokens):
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
