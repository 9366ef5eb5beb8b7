"""Voice anonymization by the McAdams coefficient: LPC pole angles are warped frame by frame."""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_toeplitz
from scipy.signal import lfilter

LPC_ORDER = 20
FRAME_SECONDS = 0.02
# Per-clip coefficient range; drawing it per clip keeps one inverse from undoing every clip.
ALPHA_RANGE = (0.7, 0.9)


def draw_alpha(seed: int) -> float:
    low, high = ALPHA_RANGE
    return float(np.random.default_rng(seed).uniform(low, high))


def lpc(frame: np.ndarray, order: int) -> np.ndarray:
    """Prediction polynomial [1, a1..ap] by the autocorrelation method (minimum phase)."""
    spectrum = np.fft.rfft(frame, n=2 * len(frame))
    autocorr = np.fft.irfft(np.abs(spectrum) ** 2)[: order + 1]
    if autocorr[0] <= 1e-10:
        return np.concatenate(([1.0], np.zeros(order)))
    autocorr[0] *= 1.0 + 1e-9  # white-noise correction keeps the system well conditioned
    coefficients = solve_toeplitz(autocorr[:order], -autocorr[1 : order + 1])
    return np.concatenate(([1.0], coefficients))


def warp_poles(a: np.ndarray, alpha: float) -> np.ndarray:
    """Raise each complex pole's angle to the power alpha; real poles and magnitudes stay."""
    poles = np.roots(a)
    complex_mask = np.abs(poles.imag) > 1e-8
    angles = np.angle(poles[complex_mask])
    warped = np.sign(angles) * np.abs(angles) ** alpha
    poles = poles.astype(complex)
    poles[complex_mask] = np.abs(poles[complex_mask]) * np.exp(1j * warped)
    return np.real(np.poly(poles))


def mcadams(samples: np.ndarray, rate: int, *, alpha: float, order: int = LPC_ORDER) -> np.ndarray:
    """Anonymize a mono clip; output has the input's length and loudness."""
    x = samples.astype(np.float64)
    frame_len = int(rate * FRAME_SECONDS)
    hop = frame_len // 2
    if len(x) < frame_len:
        return samples.astype(np.float32)
    # Periodic square-root Hann on analysis and synthesis sums to one at 50% overlap.
    window = np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(frame_len) / frame_len))
    count = 1 + (len(x) - frame_len + hop - 1) // hop
    padded = np.concatenate([x, np.zeros((count - 1) * hop + frame_len - len(x))])
    out = np.zeros_like(padded)
    for index in range(count):
        start = index * hop
        frame = padded[start : start + frame_len] * window
        if not np.any(frame):
            continue
        a = lpc(frame, order)
        residual = lfilter(a, [1.0], frame)
        shaped = lfilter([1.0], warp_poles(a, alpha), residual)
        # Moving poles changes the filter's gain; keep each frame's energy as it was.
        shaped_energy = np.sqrt(np.sum(shaped**2))
        if shaped_energy > 0:
            shaped *= np.sqrt(np.sum(frame**2)) / shaped_energy
        out[start : start + frame_len] += shaped * window
    out = out[: len(x)]
    source_rms = np.sqrt(np.mean(x**2))
    out_rms = np.sqrt(np.mean(out**2))
    if out_rms > 0:
        out *= source_rms / out_rms
    return soft_limit(out).astype(np.float32)


def soft_limit(x: np.ndarray, knee: float = 0.9, ceiling: float = 0.99) -> np.ndarray:
    """Leave samples under the knee alone and bend the few peaks above it under the ceiling."""
    magnitude = np.abs(x)
    over = magnitude > knee
    if not np.any(over):
        return x
    room = ceiling - knee
    limited = x.copy()
    limited[over] = np.sign(x[over]) * (knee + room * np.tanh((magnitude[over] - knee) / room))
    return limited
