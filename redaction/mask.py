"""Masking: replace time spans by a tone or silence, padded, with crossfades inside the padding."""

from __future__ import annotations

import numpy as np

TONE_HZ = 1000.0
TONE_LEVEL = 0.1  # -20 dBFS
FADE_SECONDS = 0.01


def padded_spans(spans: list[tuple[float, float]], *, padding: float, duration: float) -> list[tuple[float, float]]:
    """Widen each span by `padding` each side, clip to the clip, and join those that then overlap."""
    merged: list[list[float]] = []
    for start, end in sorted(spans):
        start, end = max(0.0, start - padding), min(duration, end + padding)
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def mask(audio: np.ndarray, rate: int, spans: list[tuple[float, float]], *, padding: float = 0.15,
         mode: str = "tone") -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Return the masked audio and the spans actually replaced (after padding and merging).

    Inside each replaced span no sample of the input survives except in the first and last
    FADE_SECONDS, where input fades out and the replacement fades in; those lie in the padding,
    so the spoken data itself is fully replaced as long as padding >= FADE_SECONDS.
    """
    if mode not in {"tone", "silence"}:
        raise ValueError(f"mask mode must be 'tone' or 'silence', not {mode!r}")
    out = audio.astype(np.float32, copy=True)
    replaced = padded_spans(spans, padding=padding, duration=len(audio) / rate)
    fade = max(1, int(FADE_SECONDS * rate))
    for start, end in replaced:
        a, b = int(start * rate), min(len(out), int(np.ceil(end * rate)))
        length = b - a
        if length <= 0:
            continue
        if mode == "tone":
            t = np.arange(length) / rate
            fill = (TONE_LEVEL * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)
        else:
            fill = np.zeros(length, dtype=np.float32)
        ramp = np.ones(length, dtype=np.float32)
        edge = min(fade, length // 2)
        if edge:
            rise = np.linspace(0.0, 1.0, edge, dtype=np.float32)
            ramp[:edge] = rise
            ramp[length - edge:] = rise[::-1]
        # Replacement weight rises to 1 at the edges' inner ends; input weight is its complement.
        original = out[a:b].copy()
        out[a:b] = fill * ramp + original * (1.0 - ramp)
    return out, replaced
