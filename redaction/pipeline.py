"""The de-identification steps in order, on one decoded clip."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from redaction.audio import TARGET_RATE, decode, to_target_rate
from redaction.vad import trim_silence
from redaction.voice import mcadams


@dataclass(frozen=True)
class DeidParams:
    alpha: float
    max_seconds: float
    vad_aggressiveness: int = 3
    padding_ms: int = 200


@dataclass(frozen=True)
class DeidResult:
    audio: np.ndarray | None  # 16 kHz mono; None when the clip holds no speech
    input_seconds: float
    trimmed_seconds: float
    speech_seconds: float

    @property
    def has_speech(self) -> bool:
        return self.audio is not None


def deidentify(data: bytes, params: DeidParams) -> DeidResult:
    """Decode, resample to 16 kHz mono, trim silence, disguise the voice.

    Spoken personal data is not masked by this version; a clip leaves here with the words intact.
    """
    samples, rate = decode(data, max_seconds=params.max_seconds)
    samples = to_target_rate(samples, rate)
    trimmed = trim_silence(
        samples, TARGET_RATE, aggressiveness=params.vad_aggressiveness, padding_ms=params.padding_ms
    )
    if not trimmed.has_speech:
        return DeidResult(None, trimmed.input_seconds, trimmed.input_seconds, trimmed.speech_seconds)
    disguised = mcadams(trimmed.audio, TARGET_RATE, alpha=params.alpha)
    return DeidResult(disguised, trimmed.input_seconds, trimmed.trimmed_seconds, trimmed.speech_seconds)
