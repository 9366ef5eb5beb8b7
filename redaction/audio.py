"""Probe, decode, resample and encode audio, refusing anything that could exhaust memory or time."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import soundfile as sf
import soxr

TARGET_RATE = 16_000
# Containers we accept, as libsndfile names them.
SUPPORTED_FORMATS = {"WAV": "wav", "WAVEX": "wav", "FLAC": "flac", "OGG": "ogg", "MP3": "mp3"}
MAX_CHANNELS = 2
MIN_RATE, MAX_RATE = 8_000, 48_000


class AudioError(ValueError):
    """Audio that cannot be accepted; `code` is machine-readable, the message says why."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class AudioInfo:
    format: str
    samplerate: int
    channels: int
    frames: int

    @property
    def duration(self) -> float:
        return self.frames / self.samplerate if self.samplerate else 0.0


def probe(data: bytes, *, max_seconds: float) -> AudioInfo:
    """Read only the header and check format, channels, rate and duration before any decoding."""
    if not data:
        raise AudioError("empty_audio", "The audio file is empty.")
    try:
        info = sf.info(io.BytesIO(data))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError("unsupported_audio", f"The file is not readable audio ({_reason(exc)}).") from None
    if info.format not in SUPPORTED_FORMATS:
        raise AudioError("unsupported_audio",
                         f"Audio format {info.format} is not supported; send WAV, FLAC, OGG or MP3.")
    if not 1 <= info.channels <= MAX_CHANNELS:
        raise AudioError("unsupported_audio",
                         f"Audio has {info.channels} channels; at most {MAX_CHANNELS} are accepted.")
    if not MIN_RATE <= info.samplerate <= MAX_RATE:
        raise AudioError(
            "unsupported_audio", f"Sample rate {info.samplerate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz."
        )
    result = AudioInfo(SUPPORTED_FORMATS[info.format], info.samplerate, info.channels, int(info.frames))
    if result.frames <= 0:
        raise AudioError("empty_audio", "The audio file holds no samples.")
    if result.duration > max_seconds:
        raise AudioError("audio_too_long", f"Audio lasts {result.duration:.1f} s; the limit is {max_seconds:g} s.")
    return result


def decode(data: bytes, *, max_seconds: float) -> tuple[np.ndarray, int]:
    """Decode to mono float32 at the file's rate, reading no more than max_seconds whatever the header says."""
    info = probe(data, max_seconds=max_seconds)
    limit = int(max_seconds * info.samplerate) + 1
    try:
        with sf.SoundFile(io.BytesIO(data)) as handle:
            samples = handle.read(frames=limit, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError("corrupt_audio", f"The audio could not be decoded ({_reason(exc)}).") from None
    if len(samples) >= limit:
        raise AudioError("audio_too_long", f"Audio runs past the {max_seconds:g} s limit.")
    if len(samples) == 0:
        raise AudioError("empty_audio", "The audio file holds no samples.")
    mono = samples.mean(axis=1, dtype=np.float32)
    if not np.all(np.isfinite(mono)):
        raise AudioError("corrupt_audio", "The audio holds invalid sample values.")
    return mono, info.samplerate


def to_target_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    """Resample mono audio to 16 kHz."""
    return resample(samples, rate, TARGET_RATE)


def remove_dc(samples: np.ndarray) -> np.ndarray:
    """The clip less its mean: a microphone's constant offset hides speech from the VAD's energy test."""
    return (samples - np.mean(samples, dtype=np.float64)).astype(np.float32)


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    if rate == target:
        return samples.astype(np.float32, copy=False)
    return soxr.resample(samples, rate, target, quality="HQ").astype(np.float32)


def encode_wav(samples: np.ndarray, rate: int = TARGET_RATE) -> bytes:
    """16-bit PCM WAV bytes."""
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(samples, -1.0, 1.0), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _reason(exc: Exception) -> str:
    text = str(exc).strip().rstrip(".")
    # libsndfile prefixes messages with the opaque file object's repr; keep only its explanation.
    return text.split(": ", 1)[-1] if ": " in text else text or type(exc).__name__
