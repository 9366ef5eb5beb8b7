"""The de-identification steps in order: decode, trim, recognize, find personal data, mask, disguise."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from redaction.align import align
from redaction.asr import AsrError, Word, transcribe
from redaction.audio import TARGET_RATE, decode, to_target_rate
from redaction.mask import mask
from redaction.pii import PiiError, detect, redacted_text
from redaction.tokens import Token, tokenize
from redaction.vad import trim_silence
from redaction.voice import Disguise, disguise

# Whisper puts word boundaries up to 0.3 s off, worst next to numerals: spans timed by Whisper alone
# get this much more padding each side. Forced alignment put the edges of personal data within 45 ms
# of the synthesizer's own phone times for most spans in bench/deid (bench/README.md), well inside
# the mask's padding: nothing more.
ASR_TIME_SLACK = 0.25
ALIGNED_TIME_SLACK = 0.0


@dataclass(frozen=True)
class DeidParams:
    voice: Disguise
    max_seconds: float
    vad_aggressiveness: int = 3
    padding_ms: int = 200
    mask_padding: float = 0.15
    mask_mode: str = "tone"
    asr_model: str | None = None
    asr_budget: float = 30.0
    asr_threads: int = 1
    disguise_voice: bool = True  # off only to measure masking alone (bench/); the product always disguises


@dataclass(frozen=True)
class MaskedSpan:
    kind: str
    start: float  # seconds of the input file
    end: float


@dataclass(frozen=True)
class DeidResult:
    audio: np.ndarray | None  # 16 kHz mono; None when the clip holds no speech
    input_seconds: float
    trimmed_seconds: float
    speech_seconds: float
    draft: str = ""  # recognized text with masked spans as [NAME], [NUMBER], [EMAIL], [ADDRESS]
    spans: list[MaskedSpan] = field(default_factory=list)
    replaced: list[tuple[float, float]] = field(default_factory=list)  # audio actually masked, input seconds
    segments: tuple[tuple[float, float], ...] = ()  # spans of the input kept by trimming, in order
    words: list[Word] = field(default_factory=list)  # raw recognition: for the operator's report only
    tokens: list[Token] = field(default_factory=list)

    @property
    def has_speech(self) -> bool:
        return self.audio is not None


class DeidFailed(Exception):
    """A step could not run; the clip must be held, never served."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def deidentify(data: bytes, params: DeidParams) -> DeidResult:
    """Raises AudioError for unreadable audio and DeidFailed when recognition or detection fails."""
    samples, rate = decode(data, max_seconds=params.max_seconds)
    samples = to_target_rate(samples, rate)
    trimmed = trim_silence(samples, TARGET_RATE, aggressiveness=params.vad_aggressiveness,
                           padding_ms=params.padding_ms)
    if not trimmed.has_speech:
        return DeidResult(None, trimmed.input_seconds, trimmed.input_seconds, trimmed.speech_seconds)
    try:
        words = transcribe(trimmed.audio, model_dir=params.asr_model, budget_seconds=params.asr_budget,
                           threads=params.asr_threads)
    except AsrError as exc:
        raise DeidFailed(exc.code, str(exc)) from exc
    if not words:
        raise DeidFailed("asr_no_words", "Speech was detected but no word was recognized.")
    tokens = tokenize(words)
    try:
        pii = detect(words, tokens)
    except PiiError as exc:
        raise DeidFailed("pii_failed", str(exc)) from exc
    aligned = align(trimmed.audio, tokens) if pii else None  # only spans need precise times
    if aligned is not None:
        # Aligned neighbours are where they are said: mask up to them, not into them.
        times = [_span_time(span, aligned, ALIGNED_TIME_SLACK, params.mask_padding) for span in pii]
    else:
        times = [_span_time(span, tokens, ASR_TIME_SLACK, 0.0) for span in pii]
    masked, replaced = mask(trimmed.audio, TARGET_RATE, times, padding=params.mask_padding, mode=params.mask_mode)
    disguised = disguise(masked, TARGET_RATE, params.voice) if params.disguise_voice else masked
    spans = [
        MaskedSpan(span.kind, input_time(start, trimmed.segments), input_time(end, trimmed.segments))
        for span, (start, end) in zip(pii, times, strict=True)
    ]
    return DeidResult(disguised, trimmed.input_seconds, trimmed.trimmed_seconds, trimmed.speech_seconds,
                      draft=redacted_text(words, tokens, pii), spans=spans, words=words, tokens=tokens,
                      replaced=[(input_time(a, trimmed.segments), input_time(b, trimmed.segments))
                                for a, b in replaced],
                      segments=trimmed.segments)


def _span_time(span, tokens: list[Token], slack: float, keep_off: float) -> tuple[float, float]:
    """The time to mask for a span, before the mask's own padding: its tokens widened by `slack`,
    and on across any gap to the neighbouring tokens, so audio next to personal data in which
    nothing was recognized is masked too. The gap is taken up to `keep_off` short of a neighbour,
    so that the padding reaches the neighbour's edge without cutting into it (0: padding into it)."""
    before = tokens[span.first - 1].end + keep_off if span.first > 0 else 0.0
    after = tokens[span.last + 1].start - keep_off if span.last + 1 < len(tokens) else float("inf")
    return min(tokens[span.first].start - slack, before), max(tokens[span.last].end + slack, after)


def input_time(t: float, segments: tuple[tuple[float, float], ...]) -> float:
    """A time in the trimmed audio, as seconds of the input it was cut from."""
    t = max(0.0, t)
    elapsed = 0.0
    for start, end in segments:
        length = end - start
        if t <= elapsed + length:
            return round(float(start + (t - elapsed)), 3)
        elapsed += length
    return round(float(segments[-1][1] if segments else t), 3)
