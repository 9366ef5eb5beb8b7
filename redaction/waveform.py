"""Waveform envelopes for drawing: the lowest and highest sample in each of a fixed number of bins."""

from __future__ import annotations

import numpy as np

MAX_BINS = 4000


def peaks(samples: np.ndarray, bins: int) -> np.ndarray:
    """(bins, 2) float32 of (min, max) per bin, over equal stretches of the signal; a signal shorter
    than `bins` gives one bin per sample. An empty signal gives no bins."""
    if not 1 <= bins <= MAX_BINS:
        raise ValueError(f"bins must be 1 to {MAX_BINS}")
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    if samples.size == 0:
        return np.zeros((0, 2), dtype=np.float32)
    bins = min(bins, samples.size)
    edges = np.linspace(0, samples.size, bins + 1).astype(np.int64)
    lows = np.minimum.reduceat(samples, edges[:-1])
    highs = np.maximum.reduceat(samples, edges[:-1])
    return np.stack([lows, highs], axis=1)
