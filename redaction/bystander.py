"""Second-talker detection: find speech in a clip that is not its owner's, alone or under the owner's voice."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.fft
from scipy.signal import butter, sosfilt

# Every threshold below was set on synthetic clips (Debian flite voices slt, rms, awb, kal16 and pitch- and
# formant-shifted copies of them; owner commands, a bystander saying personal data 0-12 dB quieter before,
# after or under the owner; single talkers clean, in white, pink and babble noise at 5-20 dB SNR and in rooms
# of RT60 0.3-0.7 s; 1,624 clips to set them, 452 with new seeds and shifted voices to check them). Each bound
# sits just above single talkers' 99th percentile of the quantity it bounds.

HOP_SECONDS = 0.01
# Periodicity is measured below 2 kHz, where voiced harmonics stand above the noise.
PITCH_BAND_HZ = (60.0, 2000.0)
PITCH_WINDOW_SECONDS = 0.03
F0_MIN_HZ, F0_MAX_HZ = 70.0, 400.0
# Spectral envelope: log mel bands over 32 ms, first cepstra (spectral tilt and the formant region).
ENVELOPE_WINDOW_SECONDS = 0.032
MEL_BANDS = 24
MEL_RANGE_HZ = (100.0, 7000.0)
CEPSTRA = 6

# A frame is voiced speech when its best period leaves at most this share of its energy (normalized
# difference function); reverberant tails and noise stay above it.
VOICED_APERIODICITY = 0.4
# Voiced frames this far under the clip's loud frames (95th percentile) are tails and echoes, not words.
VOICED_LEVEL_RANGE_DB = 20.0

# Talkers in stretches of their own: the contiguous stretch of voiced speech least like the rest.
# Each side needs this much voiced speech, so that a question's rising end or one long vowel is not a talker.
MIN_PART_SECONDS = 0.75
BOUNDARY_STEP_FRAMES = 5
# Octave errors pulled back before averaging log f0.
F0_CLIP = 0.4
# Mean log f0 of the stretch against the rest (0.24 is 27%): single talkers' 99th percentile was 0.23, their
# largest gap 0.31; a woman and a man differ by about 0.5, two men by 0.1-0.35.
F0_GAP = 0.24
# Mean level gap (dB) between stretch and rest: single talkers' 99th percentile 6.5 dB, largest 7.4 dB. A
# bystander 9 dB or more quieter is found by level alone; 6 dB is within what one talker's stretches vary.
LEVEL_GAP_DB = 7.0
# Within-talker spread of the first cepstra, averaged over 1.5 s of voiced speech (medians of windows around
# the clip median, single talkers clean, reverberant and in 20 dB noise), and the distance (root mean square of
# the standardized gaps) above which a stretch is another voice: single talkers' 99th percentile was 3.6.
ENVELOPE_SD = (1.142, 0.880, 1.182, 0.730, 0.477, 0.499)
# Raised from 3.7 to 4.2 on a check set (new seeds, pitch- and formant-shifted voices): single talkers
# flagged 4.8% -> 2.1%, bystanders found 4 fewer of 400 mixes, all at 0-3 dB; one flite voice saying two
# sentences apart reached 3.9.
ENVELOPE_DISTANCE = 4.2
# Stretches at least this share as different as the most different one may stand for it (widening the span).
SPAN_WIDENING = 0.85
# The owner is the louder talker when the two differ by more than this; else the one with more speech.
OWNER_LEVEL_DB = 3.0

# A second voice under the owner's: after the dominant period is cancelled, the residual is periodic again
# (normalized difference at most SECOND_APERIODICITY) at a period at least SECOND_F0_MIN_GAP (log) away from
# the first, and that second pitch moves smoothly (at most SECOND_TRACK_JUMP per 10 ms) for
# SECOND_TRACK_FRAMES frames on end. OVERLAP_MIN_SECONDS of such frames in a clip make an overlap.
SECOND_APERIODICITY = 0.25
SECOND_F0_MIN_GAP = 0.06
SECOND_TRACK_JUMP = 0.03
SECOND_TRACK_FRAMES = 4
OVERLAP_MIN_SECONDS = 0.15


@dataclass(frozen=True)
class Talkers:
    overlap: bool  # a second voice under the owner's speech somewhere
    spans: list[tuple[float, float]] = field(default_factory=list)  # seconds of the audio holding another talker
    overlap_seconds: float = 0.0  # frames with a second, smoothly moving pitch under the first
    f0_gap: float = 0.0  # |mean log f0| between the most different stretch and the rest
    level_gap_db: float = 0.0  # owner's mean level minus the other talker's (stretch against rest)
    envelope_distance: float = 0.0  # standardized cepstral distance, stretch against rest
    owner_louder: bool = False  # the owner was told apart by level, not by amount of speech

    @property
    def found(self) -> bool:
        return self.overlap or bool(self.spans)


@dataclass(frozen=True)
class _Frames:
    f0: np.ndarray  # dominant pitch (Hz) per hop
    aperiodicity: np.ndarray  # normalized difference at that period: 0 periodic, 1 noise
    second_f0: np.ndarray  # pitch of what is left after the dominant period is cancelled
    second_aperiodicity: np.ndarray
    level: np.ndarray  # dB
    cepstra: np.ndarray  # hops x CEPSTRA


def find_second_talker(audio: np.ndarray, rate: int, speech: np.ndarray, frame_seconds: float = 0.03) -> Talkers:
    """`audio` is mono, already silence-trimmed; `speech` is the voice activity detector's flag per
    `frame_seconds` frame of it (redaction.vad.speech_frames). The owner is the louder talker, or the one with
    more speech when the two are within OWNER_LEVEL_DB: the owner speaks to the device from close by, and a
    bystander or a television is further away; by amount of speech alone, a bystander reading out a long number
    under a short command would become the owner."""
    x = np.asarray(audio, dtype=np.float64)
    hop = round(rate * HOP_SECONDS)
    count = len(x) // hop
    if count < 2 or not np.any(speech):
        return Talkers(overlap=False)
    frames = _analyze(x, rate, count)
    centres = (np.arange(count) + 0.5) * HOP_SECONDS
    index = np.minimum((centres / frame_seconds).astype(int), len(speech) - 1)
    in_speech = np.asarray(speech, dtype=bool)[index] & (centres < len(speech) * frame_seconds)
    if not in_speech.any():
        return Talkers(overlap=False)
    loud = np.percentile(frames.level[in_speech], 95)
    voiced = np.flatnonzero(in_speech & (frames.aperiodicity < VOICED_APERIODICITY)
                            & (frames.level > loud - VOICED_LEVEL_RANGE_DB))
    split = _other_stretch(frames, voiced, count)
    spans, other_hops = [], np.zeros(count, dtype=bool)
    if split.other is not None:
        for start, stop in _spans(split.other, voiced, count):
            spans.append((round(float(start * HOP_SECONDS), 3), round(float(stop * HOP_SECONDS), 3)))
            other_hops[start:stop] = True
    seconds = _second_voice_seconds(frames, in_speech & ~other_hops)
    return Talkers(overlap=bool(seconds >= OVERLAP_MIN_SECONDS), spans=spans, overlap_seconds=round(float(seconds), 3),
                   f0_gap=round(split.f0_gap, 3), level_gap_db=round(split.level_gap_db, 2),
                   envelope_distance=round(split.envelope_distance, 3), owner_louder=split.owner_louder)


@dataclass(frozen=True)
class _Split:
    other: np.ndarray | None  # per voiced frame: is it the other talker's (None: one talker)
    f0_gap: float = 0.0
    level_gap_db: float = 0.0
    envelope_distance: float = 0.0
    owner_louder: bool = False


def _other_stretch(frames: _Frames, voiced: np.ndarray, count: int) -> _Split:
    """The contiguous run of voiced frames whose mean pitch, level or envelope is furthest from the rest's,
    each cue measured against its own threshold; another talker when one of them passes it."""
    min_part = round(MIN_PART_SECONDS / HOP_SECONDS)
    n = len(voiced)
    if n < 2 * min_part:
        return _Split(None)
    log_f0 = np.log(frames.f0[voiced])
    middle = np.median(log_f0)
    features = np.column_stack([np.clip(log_f0, middle - F0_CLIP, middle + F0_CLIP), frames.level[voiced],
                                frames.cepstra[voiced] / np.asarray(ENVELOPE_SD)])
    sums = np.vstack([np.zeros(features.shape[1]), np.cumsum(features, axis=0)])
    bounds = np.unique(np.append(np.arange(0, n + 1, BOUNDARY_STEP_FRAMES), n))
    first, last = np.meshgrid(bounds, bounds, indexing="ij")
    size = last - first
    ok = (size >= min_part) & (n - size >= min_part)
    first, last, size = first[ok], last[ok], size[ok].astype(float)
    inside = sums[last] - sums[first]
    gap = inside / size[:, None] - (sums[n] - inside) / (n - size)[:, None]  # stretch minus rest
    f0_gap, level_gap = np.abs(gap[:, 0]), gap[:, 1]
    envelope = np.sqrt(np.mean(gap[:, 2:] ** 2, axis=1))
    strength = np.maximum.reduce([f0_gap / F0_GAP, np.abs(level_gap) / LEVEL_GAP_DB, envelope / ENVELOPE_DISTANCE])
    best = int(np.argmax(strength))
    # Level gap of the rest over the stretch: positive when the stretch is the quieter part.
    quieter_stretch = -level_gap[best]
    owner_louder = bool(abs(quieter_stretch) > OWNER_LEVEL_DB)
    other_is_stretch = bool(quieter_stretch > 0 if owner_louder else size[best] <= n - size[best])
    owner_minus_other = quieter_stretch if other_is_stretch else -quieter_stretch
    scores = (float(f0_gap[best]), float(owner_minus_other), float(envelope[best]), owner_louder)
    if strength[best] <= 1.0:
        return _Split(None, *scores)
    # When the other talker is the stretch, the most different stretch is its core; of the stretches around it
    # nearly as different, take the longest, so that its first and last words are inside too.
    pick = best
    if other_is_stretch:
        close = (strength >= max(1.0, SPAN_WIDENING * strength[best])) & (first <= first[best]) & (last >= last[best])
        pick = np.flatnonzero(close)[np.argmax(size[close])]
    stretch = np.zeros(n, dtype=bool)
    stretch[first[pick] : last[pick]] = True
    return _Split(stretch if other_is_stretch else ~stretch, *scores)


def _spans(other: np.ndarray, voiced: np.ndarray, count: int) -> list[tuple[int, int]]:
    """Hop ranges of the other talker: each run of its voiced frames, widened to the owner's nearest voiced
    frames either side, so that its consonants and the pauses around its words are inside."""
    owner_hops = voiced[~other]
    spans = []
    for start, stop in _runs(other):
        before = owner_hops[owner_hops < voiced[start]]
        after = owner_hops[owner_hops > voiced[stop - 1]]
        spans.append((int(before[-1]) + 1 if len(before) else 0, int(after[0]) if len(after) else count))
    return spans


def _second_voice_seconds(frames: _Frames, allowed: np.ndarray) -> float:
    """Seconds in which the residual after cancelling the dominant period holds a second, smoothly moving
    pitch, counted only in runs of SECOND_TRACK_FRAMES hops or more."""
    log_first, log_second = np.log(frames.f0), np.log(frames.second_f0)
    candidate = (allowed & (frames.second_aperiodicity < SECOND_APERIODICITY)
                 & (np.abs(log_second - log_first) > SECOND_F0_MIN_GAP))
    tracked = candidate.copy()
    tracked[1:] &= candidate[:-1] & (np.abs(np.diff(log_second)) < SECOND_TRACK_JUMP)
    # A run of tracked hops k long is k + 1 frames of a continuous second pitch.
    frames_in_runs = sum(stop - start + 1 for start, stop in _runs(tracked) if stop - start + 1 >= SECOND_TRACK_FRAMES)
    return frames_in_runs * HOP_SECONDS


def _analyze(x: np.ndarray, rate: int, count: int) -> _Frames:
    hop = round(rate * HOP_SECONDS)
    window = round(rate * PITCH_WINDOW_SECONDS)
    min_lag, max_lag = int(rate / F0_MAX_HZ), int(np.ceil(rate / F0_MIN_HZ))
    band = sosfilt(butter(4, PITCH_BAND_HZ, btype="band", fs=rate, output="sos"), x)
    difference = _normalized_difference(_framed(band, hop, window, max_lag, count), window, max_lag)
    period, aperiodicity = _best_lag(difference, min_lag, max_lag)
    # Cancel the dominant period with a comb that follows its track sample by sample (a period at each hop,
    # interpolated), averaging the previous and the next period so that slow amplitude changes cancel too.
    t = np.arange(len(band), dtype=np.float64)
    track = np.interp(t, (np.arange(count) + 0.5) * hop, period)
    residual = band - 0.5 * (_fractional(band, t - track) + _fractional(band, t + track))
    residual_difference = _normalized_difference(_framed(residual, hop, window, max_lag, count), window, max_lag)
    lags = np.arange(max_lag + 1)[np.newaxis, :]
    near_first = np.abs(np.log(np.maximum(lags, 1) / period[:, np.newaxis])) < SECOND_F0_MIN_GAP
    second_period, second_aperiodicity = _best_lag(np.where(near_first, np.inf, residual_difference), min_lag, max_lag)
    level, cepstra = _envelope(x, rate, hop, count)
    return _Frames(rate / period, aperiodicity, rate / second_period, second_aperiodicity, level, cepstra)


def _framed(signal: np.ndarray, hop: int, window: int, max_lag: int, count: int) -> np.ndarray:
    """count x (window + max_lag) frames, frame i centred on the middle of hop i (zeros outside the signal)."""
    lead = (window + max_lag) // 2 - hop // 2
    padded = np.concatenate([np.zeros(lead), signal, np.zeros(window + max_lag + hop)])
    return padded[np.arange(count)[:, np.newaxis] * hop + np.arange(window + max_lag)]


def _normalized_difference(frames: np.ndarray, window: int, max_lag: int) -> np.ndarray:
    """d(tau) / (energy of both windows), tau = 0..max_lag, per row: 0 for a signal periodic at tau, about 1
    for noise (YIN's difference function, normalized so that it does not depend on level)."""
    size = scipy.fft.next_fast_len(window + max_lag + 1, real=True)
    cross = scipy.fft.irfft(np.conj(scipy.fft.rfft(frames[:, :window], size, axis=1))
                            * scipy.fft.rfft(frames, size, axis=1), size, axis=1)[:, : max_lag + 1]
    energy = np.concatenate([np.zeros((len(frames), 1)), np.cumsum(frames**2, axis=1)], axis=1)
    head = energy[:, window : window + 1]
    shifted = energy[:, window : window + max_lag + 1] - energy[:, : max_lag + 1]
    return (head + shifted - 2 * cross) / (head + shifted + 1e-12)


def _best_lag(difference: np.ndarray, min_lag: int, max_lag: int) -> tuple[np.ndarray, np.ndarray]:
    """The shortest lag whose dip is within 0.05 of the deepest (so that a period's multiples lose), refined
    by a parabola through its neighbours; and the depth of the dip."""
    values = difference[:, min_lag : max_lag + 1]
    rows = np.arange(len(values))
    deepest = values[rows, np.argmin(values, axis=1)]
    local = np.ones(values.shape, dtype=bool)
    local[:, 1:] &= values[:, 1:] <= values[:, :-1]
    local[:, :-1] &= values[:, :-1] <= values[:, 1:]
    chosen = local & (values <= deepest[:, np.newaxis] + 0.05)
    pick = np.where(chosen.any(axis=1), np.argmax(chosen, axis=1), np.argmin(values, axis=1))
    left = values[rows, np.maximum(pick - 1, 0)]
    right = values[rows, np.minimum(pick + 1, values.shape[1] - 1)]
    centre = values[rows, pick]
    curvature = left - 2 * centre + right
    fine = np.isfinite(left) & np.isfinite(right) & (curvature > 0)
    offset = np.where(fine, 0.5 * (left - right) / np.where(fine, curvature, 1.0), 0.0)
    depth = np.where(np.isfinite(centre), centre, 1.0)
    return min_lag + pick + np.clip(offset, -0.5, 0.5), np.clip(depth, 0.0, 2.0)


def _fractional(signal: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """`signal` read at fractional sample positions by cubic Lagrange interpolation; zero outside."""
    whole = np.floor(positions).astype(int)
    mu = positions - whole
    padded = np.concatenate([np.zeros(4), signal, np.zeros(4)])

    def at(offset: int) -> np.ndarray:
        return padded[np.clip(whole + offset + 4, 0, len(padded) - 1)]

    return (-mu * (mu - 1) * (mu - 2) / 6 * at(-1) + (mu + 1) * (mu - 1) * (mu - 2) / 2 * at(0)
            - (mu + 1) * mu * (mu - 2) / 2 * at(1) + (mu + 1) * mu * (mu - 1) / 6 * at(2))


def _envelope(x: np.ndarray, rate: int, hop: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Level (dB) and the first CEPSTRA mel cepstra (c1..) per hop, over windows centred on the hops."""
    size = round(rate * ENVELOPE_WINDOW_SECONDS)
    taper = np.hanning(size)
    padded = np.concatenate([np.zeros(size // 2 - hop // 2), x, np.zeros(size + hop)])
    power = np.abs(np.fft.rfft(padded[np.arange(count)[:, np.newaxis] * hop + np.arange(size)] * taper, axis=1)) ** 2
    level = 10 * np.log10(power.sum(axis=1) * 2 / (size * np.sum(taper**2)) + 1e-12)
    bands = np.log(power @ _mel_filters(rate, size).T + 1e-10)
    return level, scipy.fft.dct(bands, type=2, norm="ortho", axis=1)[:, 1 : CEPSTRA + 1]


def _mel_filters(rate: int, size: int) -> np.ndarray:
    def mel(hz):
        return 2595 * np.log10(1 + hz / 700)

    edges = 700 * (10 ** (np.linspace(mel(MEL_RANGE_HZ[0]), mel(MEL_RANGE_HZ[1]), MEL_BANDS + 2) / 2595) - 1)
    freqs = np.arange(size // 2 + 1) * rate / size
    low, mid, high = edges[:-2, np.newaxis], edges[1:-1, np.newaxis], edges[2:, np.newaxis]
    return np.maximum(0.0, np.minimum((freqs - low) / (mid - low), (high - freqs) / (high - mid)))


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the True runs."""
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))
