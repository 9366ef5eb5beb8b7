"""The de-identification steps in order: decode, trim, recognize, find personal data, mask, disguise."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from redaction.align import align
from redaction.asr import AsrError, Word, recognize
from redaction.audio import TARGET_RATE, decode, remove_dc, to_target_rate
from redaction.bystander import find_second_talker
from redaction.coverage import check_coverage
from redaction.mask import mask, padded_spans
from redaction.pii import PiiError, PiiSpan, detect, redacted_text
from redaction.reattack import reattack
from redaction.tokens import Token, tokenize
from redaction.vad import trim_silence
from redaction.voice import Disguise, disguise

# Whisper puts word boundaries up to 0.3 s off, worst next to numerals: spans timed by Whisper alone
# get this much more padding each side. Forced alignment put the edges of personal data within 45 ms
# of the synthesizer's own phone times for most spans in bench/deid (bench/README.md), well inside
# the mask's padding: nothing more.
ASR_TIME_SLACK = 0.25
ALIGNED_TIME_SLACK = 0.0
# Masked for other reasons than personal data found in the words: speech no confident word accounts
# for, what the re-attack still heard, words too unsure to show in the draft.
UNRECOGNIZED, RESIDUAL, UNCLEAR, OTHER_VOICE = "UNRECOGNIZED", "RESIDUAL", "UNCLEAR", "OTHER_VOICE"
# Past this share of the speech in another voice, which talker owns the clip is itself in doubt.
MAX_OTHER_TALKER_SHARE = 0.5
REATTACK_ROUNDS = 2  # times the masks are widened before the clip is held instead
REATTACK_MARGIN = 0.05  # seconds masked either side of a word the re-attack heard


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
    uncovered_share: float = 0.0  # of the speech, masked because no confident word accounted for it
    mean_probability: float = 0.0  # the recognizer's, over its words
    reattack_heard: list[str] = field(default_factory=list)  # what the independent recognizer heard, last pass
    reattack_hits: list[str] = field(default_factory=list)  # personal data it heard and had masked, every pass
    timings: dict[str, float] = field(default_factory=dict)  # CPU seconds per stage

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
    """Raises AudioError for unreadable audio and DeidFailed when a step cannot run or cannot vouch
    for the clip (speech not recognized, a second talker, personal data heard again after masking)."""
    clock = _Clock()
    with clock("decode"):
        samples, rate = decode(data, max_seconds=params.max_seconds)
        samples = remove_dc(to_target_rate(samples, rate))
    with clock("vad"):
        trimmed = trim_silence(samples, TARGET_RATE, aggressiveness=params.vad_aggressiveness,
                               padding_ms=params.padding_ms)
    if not trimmed.has_speech:
        return DeidResult(None, trimmed.input_seconds, trimmed.input_seconds, trimmed.speech_seconds,
                          timings=clock.seconds)
    try:
        with clock("asr"):
            words, segments = recognize(trimmed.audio, model_dir=params.asr_model, budget_seconds=params.asr_budget,
                                        threads=params.asr_threads)
    except AsrError as exc:
        raise DeidFailed(exc.code, str(exc)) from exc
    with clock("coverage"):
        coverage = check_coverage(trimmed.speech, words, segments)
    if coverage.hold:
        raise DeidFailed(coverage.hold, coverage.message)
    with clock("bystander"):
        talkers = find_second_talker(trimmed.audio, TARGET_RATE, trimmed.speech)
    if talkers.overlap:  # masking it would mask the owner too
        raise DeidFailed("second_talker",
                         f"A second voice speaks under the owner's for {talkers.overlap_seconds:.1f} s.")
    if talkers.spans and not talkers.owner_louder:  # two voices at one level: which is the owner's is unknown
        raise DeidFailed("second_talker", "Two voices speak at about the same level.")
    other_seconds = sum(b - a for a, b in talkers.spans)
    if other_seconds > MAX_OTHER_TALKER_SHARE * coverage.speech_seconds:
        raise DeidFailed("second_talker", f"Another voice speaks for {other_seconds:.1f} s of "
                                          f"{coverage.speech_seconds:.1f} s of speech.")
    tokens = tokenize(words)
    try:
        with clock("pii"):
            pii = detect(words, tokens)
    except PiiError as exc:
        raise DeidFailed("pii_failed", str(exc)) from exc
    # Words the recognizer was unsure of are masked like personal data, timed the same way.
    doubtful = set(coverage.doubtful)
    unclear = [PiiSpan(UNCLEAR, n, n) for n, token in enumerate(tokens) if token.word in doubtful]
    # Another talker's words are not the owner's to share: masked in the audio, and out of the draft.
    others = [PiiSpan(OTHER_VOICE, n, n) for n, token in enumerate(tokens)
              if any(a <= (token.start + token.end) / 2 <= b for a, b in talkers.spans)]
    with clock("align"):
        aligned = align(trimmed.audio, tokens) if pii or unclear else None  # only spans need precise times
    if aligned is not None:
        # Aligned neighbours are where they are said: mask up to them, not into them.
        times = [_span_time(span, aligned, ALIGNED_TIME_SLACK, params.mask_padding) for span in pii + unclear]
    else:
        times = [_span_time(span, tokens, ASR_TIME_SLACK, 0.0) for span in pii + unclear]
    to_mask = [(span.kind, start, end) for span, (start, end) in zip(pii + unclear, times, strict=True)]
    to_mask += [(UNRECOGNIZED, start, end) for start, end in coverage.uncovered]
    to_mask += [(OTHER_VOICE, start, end) for start, end in talkers.spans]
    with clock("mask"):
        masked, replaced = mask(trimmed.audio, TARGET_RATE, [(a, b) for _, a, b in to_mask],
                                padding=params.mask_padding, mode=params.mask_mode)
    with clock("disguise"):
        output = disguise(masked, TARGET_RATE, params.voice) if params.disguise_voice else masked
    span_words = [(start, end, {tokens[n].text for n in range(span.first, span.last + 1)})
                  for span, (start, end) in zip(pii, times[:len(pii)], strict=True)]
    with clock("reattack"):
        output, replaced, widened, attack, hits = _reattack(output, span_words, replaced, params)
    to_mask += [(RESIDUAL, start, end) for start, end in widened]
    return DeidResult(
        output, trimmed.input_seconds, trimmed.trimmed_seconds, trimmed.speech_seconds,
        draft=redacted_text(words, tokens, pii + others + unclear),  # personal data's kind wins where both
        spans=[MaskedSpan(kind, input_time(start, trimmed.segments), input_time(end, trimmed.segments))
               for kind, start, end in to_mask],
        words=words, tokens=tokens,
        replaced=[(input_time(a, trimmed.segments), input_time(b, trimmed.segments)) for a, b in replaced],
        segments=trimmed.segments,
        uncovered_share=coverage.uncovered_share,
        mean_probability=coverage.mean_probability,
        reattack_heard=[h.word for h in attack.heard],
        reattack_hits=[h.word for h in hits],
        timings=clock.seconds,
    )


def _reattack(audio: np.ndarray, span_words: list[tuple[float, float, set[str]]],
              replaced: list[tuple[float, float]], params: DeidParams):
    """Listen to the output with the other recognizer; where it hears personal data, mask what it
    heard and listen again, up to REATTACK_ROUNDS times, then hold the clip. Returns the output,
    everything replaced, the stretches added, the last hearing and every hit of every round."""
    widened: list[tuple[float, float]] = []
    hits = []
    for round_ in range(REATTACK_ROUNDS + 1):
        attack = reattack(audio, span_words, replaced)
        hits += attack.hits
        if not attack.hits:
            return audio, replaced, widened, attack, hits
        if round_ == REATTACK_ROUNDS:
            break
        more = [(h.start - REATTACK_MARGIN, h.end + REATTACK_MARGIN) for h in attack.hits]
        audio, added = mask(audio, TARGET_RATE, more, padding=params.mask_padding, mode=params.mask_mode)
        widened += more
        replaced = padded_spans(replaced + added, padding=0.0, duration=len(audio) / TARGET_RATE)
    heard = ", ".join(sorted({h.word for h in attack.hits}))
    raise DeidFailed("residual_pii", f"After masking, an independent recognizer still heard: {heard}.")


class _Clock:
    """Seconds of CPU spent per stage, for the report and bench/."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str):
        started = time.process_time()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.process_time() - started


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
