"""Voice activity detection: cut silence from a clip, keeping padding around speech."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import webrtcvad

FRAME_MS = 30
# Speech shorter than this in total means nothing was said to the device.
MIN_SPEECH_SECONDS = 0.3
# A speech run must last this many frames to count; isolated clicks do not.
MIN_RUN_FRAMES = 3
# Frames must stand this far above the clip's quietest frames: steady noise that fools the
# detector frame by frame has no such contrast.
MIN_CONTRAST_DB = 9.0


@dataclass(frozen=True)
class TrimResult:
    audio: np.ndarray
    segments: tuple[tuple[float, float], ...]  # kept spans, seconds of the input
    speech_seconds: float
    input_seconds: float
    speech: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # per FRAME_MS frame of `audio`

    @property
    def has_speech(self) -> bool:
        return self.speech_seconds >= MIN_SPEECH_SECONDS

    @property
    def trimmed_seconds(self) -> float:
        return self.input_seconds - len(self.audio) / 16_000


def speech_frames(samples: np.ndarray, rate: int, *, aggressiveness: int) -> np.ndarray:
    """A boolean per FRAME_MS frame: does it hold speech."""
    frame_len = rate * FRAME_MS // 1000
    count = len(samples) // frame_len
    if count == 0:
        return np.zeros(0, dtype=bool)
    frames = samples[: count * frame_len].reshape(count, frame_len)
    pcm = (np.clip(frames, -1.0, 1.0) * 32767).astype("<i2")
    detector = webrtcvad.Vad(aggressiveness)
    voiced = np.fromiter((detector.is_speech(row.tobytes(), rate) for row in pcm), dtype=bool, count=count)
    energy_db = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
    floor_db = np.percentile(energy_db, 10)
    voiced &= energy_db >= floor_db + MIN_CONTRAST_DB
    return _drop_short_runs(voiced, MIN_RUN_FRAMES)


def trim_silence(samples: np.ndarray, rate: int, *, aggressiveness: int = 3, padding_ms: int = 200) -> TrimResult:
    """Keep speech with padding_ms either side; silences longer than twice the padding are cut out."""
    voiced = speech_frames(samples, rate, aggressiveness=aggressiveness)
    frame_len = rate * FRAME_MS // 1000
    pad = int(rate * padding_ms / 1000)
    spans: list[list[int]] = []
    for start, stop in runs(voiced):
        begin = max(0, start * frame_len - pad)
        end = min(len(samples), stop * frame_len + pad)
        if spans and begin <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([begin, end])
    audio = np.concatenate([samples[a:b] for a, b in spans]) if spans else np.zeros(0, dtype=np.float32)
    return TrimResult(
        audio=audio.astype(np.float32, copy=False),
        segments=tuple((a / rate, b / rate) for a, b in spans),
        speech_seconds=float(voiced.sum() * FRAME_MS / 1000),
        input_seconds=len(samples) / rate,
        speech=_kept_frames(voiced, spans, frame_len, len(samples)),
    )


def _kept_frames(voiced: np.ndarray, spans: list[list[int]], frame_len: int, length: int) -> np.ndarray:
    """The speech flags carried over to the trimmed audio, one per frame of it: a frame there holds
    speech when any of its samples came from a speech frame of the input."""
    per_sample = np.zeros(length, dtype=bool)
    per_sample[: len(voiced) * frame_len] = np.repeat(voiced, frame_len)
    kept = np.concatenate([per_sample[a:b] for a, b in spans]) if spans else np.zeros(0, dtype=bool)
    count = int(np.ceil(len(kept) / frame_len))
    padded = np.zeros(count * frame_len, dtype=bool)
    padded[: len(kept)] = kept
    return padded.reshape(count, frame_len).any(axis=1)


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the True runs."""
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _drop_short_runs(flags: np.ndarray, min_len: int) -> np.ndarray:
    kept = np.zeros_like(flags)
    for start, stop in runs(flags):
        if stop - start >= min_len:
            kept[start:stop] = True
    return kept
