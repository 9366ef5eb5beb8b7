"""An independent re-attack on de-identified audio: a recognizer of another family listens for personal data.

Whisper found the personal data and the masks were placed from its words; pocketsphinx (hidden Markov
models with its own dictionary and language model) listens to the masked, disguised output as an
attacker would. It hears what it hears: the words of each masked span, digits, and runs of digits
anywhere. A hit outside the masks means the masks missed something.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from redaction.mask import padded_spans
from redaction.pii.vocabulary import level

RATE = 16_000
FRAMES_PER_SECOND = 100
DIGIT_WORDS = {"zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
# Words every sentence says; a span's own words among these prove nothing when heard again.
GLUE = {"a", "an", "the", "at", "dot", "and", "is", "of", "to", "in", "on", "my", "i", "it", "for", "oh"}
# What the recognizer writes for a hum, a breath or the tone's edge; it names no one.
FILLERS = {"hmm", "mhm", "uhm", "umm", "huh", "ahh", "ehh", "err", "erm", "uhh", "mmm", "shh", "hmph"}
# One of a span's own words heard this close to where it was masked is that word, leaking.
NEAR_SPAN_SECONDS = 1.0
# A digit or a name-like word heard this close to a span's edge is the edge the mask missed. Farther
# off, such words are mostly ordinary speech misheard: on bench/deid's tuning one-breath and running
# clips, of the 9 widenings only a 1 s reach made, 8 lay on other words, and the one on the data
# fell under the padding of the next widening anyway.
EDGE_SECONDS = 0.3
# Unmasked audio shorter than this between two masks is not listened to: no word fits in it (and the
# decoder fails on an empty buffer).
MIN_PIECE_SECONDS = 0.03
# This many digit words in a row are a number wherever they are heard.
DIGIT_RUN = 3
_lock = threading.Lock()


@dataclass(frozen=True)
class Heard:
    word: str
    start: float  # seconds of the audio listened to
    end: float


@dataclass(frozen=True)
class Reattack:
    heard: list[Heard]  # everything the recognizer wrote, for the report
    hits: list[Heard]  # what counts as personal data heard again


@lru_cache(maxsize=1)
def _decoder():
    from pocketsphinx import Decoder

    # One forward pass over every other frame, at most 3,000 models alive a frame: measured on the
    # demo clips, a quarter of the default's time for the same words (bench/README.md).
    return Decoder(samprate=RATE, loglevel="FATAL", fwdflat=False, bestpath=False, maxhmmpf=3000, ds=2)


def listen(audio: np.ndarray, masked: list[tuple[float, float]] = ()) -> list[Heard]:
    """pocketsphinx's words with times, lowercase, without pronunciation variants or fillers. The
    `masked` stretches are not listened to: each stretch between them is heard as an utterance of
    its own, which spares decoding the tone (a quarter of the time on running speech with data)."""
    heard = []
    for start, end in unmasked(len(audio) / RATE, masked):
        piece = audio[int(start * RATE):int(end * RATE)]
        if len(piece) < MIN_PIECE_SECONDS * RATE:  # a sliver between two masks holds no word
            continue
        pcm = (np.clip(piece, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        with _lock:
            decoder = _decoder()
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            segments = list(decoder.seg()) if decoder.hyp() is not None else []
        for segment in segments:
            word = re.sub(r"\(\d+\)$", "", segment.word).lower()
            if re.fullmatch(r"[a-z']+", word):
                heard.append(Heard(word, start + segment.start_frame / FRAMES_PER_SECOND,
                                   start + (segment.end_frame + 1) / FRAMES_PER_SECOND))
    return heard


def unmasked(duration: float, masked: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The stretches of [0, duration] outside every masked stretch, in order."""
    stretches, at = [], 0.0
    for start, end in padded_spans(list(masked), padding=0.0, duration=duration):
        if start > at:
            stretches.append((at, start))
        at = max(at, end)
    if at < duration:
        stretches.append((at, duration))
    return stretches


def reattack(audio: np.ndarray, spans: list[tuple[float, float, set[str]]],
             masked: list[tuple[float, float]]) -> Reattack:
    """Listen to `audio` for personal data. `spans`: where personal data was masked (seconds of
    `audio`) with its words; `masked`: all the audio that was replaced. A hit is a word heard
    outside the masked audio that is one of a span's own words near it, a digit or a name-like word
    (none of the ordinary English words) at its edge: the edge of a number or name the mask missed; or a
    digit in a run of DIGIT_RUN anywhere. Masked audio is not listened to: it is the tone, not speech."""
    heard = listen(audio, masked)  # every word lies between the masks
    hits: list[Heard] = []
    for h in heard:
        for start, end, words in spans:
            near = start - NEAR_SPAN_SECONDS < h.end and h.start < end + NEAR_SPAN_SECONDS
            at_edge = start - EDGE_SECONDS < h.end and h.start < end + EDGE_SECONDS
            if (near and h.word in words and h.word not in GLUE) or (
                    at_edge and (h.word in DIGIT_WORDS - {"oh"} or _name_like(h.word))):
                hits.append(h)
                break
    run: list[Heard] = []
    for h in heard + [Heard("", float("inf"), float("inf"))]:  # the sentinel closes the last run
        digit = h.word in DIGIT_WORDS
        # A mask between two digits ends the run: what lies under it is not known to be a digit.
        if run and not (digit and not _masked_between(run[-1], h, masked)):
            if len(run) >= DIGIT_RUN:
                hits.extend(r for r in run if r not in hits)
            run = []
        if digit:
            run.append(h)
    return Reattack(heard, sorted(hits, key=lambda h: h.start))


def _name_like(word: str) -> bool:
    """No ordinary English word, and not one of the hums the recognizer writes for noise ("hm")."""
    return len(word) >= 3 and word not in FILLERS and level(word) is None


def _masked_between(before: Heard, after: Heard, masked: list[tuple[float, float]]) -> bool:
    return any((before.start + before.end) / 2 <= a and b <= (after.start + after.end) / 2 for a, b in masked)
