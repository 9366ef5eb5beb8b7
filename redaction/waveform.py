"""Waveform envelopes for drawing: the lowest and highest sample in each of a number of bins, never
finer than drawing needs. At 6 samples a bin a (min, max) envelope is the audio again (rebuilt, it
correlates 0.97 with it and a recognizer reads it); at MIN_SAMPLES_PER_BIN (200 bins a second at
16 kHz) it keeps the loudness contour and no words."""

from __future__ import annotations

import numpy as np

MAX_BINS = 4000
MIN_SAMPLES_PER_BIN = 80


def drawing_envelope(samples: np.ndarray) -> np.ndarray:
    """The finest envelope drawing may have: (n, 2) float32 of (min, max) over n equal stretches of
    the signal, each at least MIN_SAMPLES_PER_BIN samples (one when the signal is shorter; none for
    an empty signal). Computed once per clip; peaks are read from it."""
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    if samples.size == 0:
        return np.zeros((0, 2), dtype=np.float32)
    return _extremes(samples, samples, max(1, samples.size // MIN_SAMPLES_PER_BIN))


def coarser(envelope: np.ndarray, bins: int) -> np.ndarray:
    """`bins` (1 to MAX_BINS; fewer when the envelope has fewer) of a drawing envelope, each the
    lowest and highest of an equal run of its bins."""
    if not 1 <= bins <= MAX_BINS:
        raise ValueError(f"bins must be 1 to {MAX_BINS}")
    envelope = np.asarray(envelope, dtype=np.float32).reshape(-1, 2)
    if len(envelope) == 0:
        return envelope
    return _extremes(envelope[:, 0], envelope[:, 1], min(bins, len(envelope)))


def peaks(samples: np.ndarray, bins: int) -> np.ndarray:
    """(bins, 2) float32 of (min, max) per bin, from the drawing envelope (each bin spans at least
    MIN_SAMPLES_PER_BIN samples, so fewer bins than asked for a short signal; none for an empty one)."""
    return coarser(drawing_envelope(samples), bins)


def _extremes(lows: np.ndarray, highs: np.ndarray, bins: int) -> np.ndarray:
    """(bins, 2): the lowest of `lows` and the highest of `highs` over `bins` equal runs of them."""
    edges = np.linspace(0, len(lows), bins + 1).astype(np.int64)[:-1]
    return np.stack([np.minimum.reduceat(lows, edges), np.maximum.reduceat(highs, edges)], axis=1)
