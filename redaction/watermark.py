"""Inaudible, keyed watermark that ties a served copy of a clip to its assignment, and its reader.

Embedding: a 32-bit payload and an 8-bit CRC, Hamming(7,4)-coded into 70 bits, each bit carried by
a keyed random subset of the samples with keyed random signs (direct-sequence spread spectrum),
band-limited to 300-3400 Hz (it survives telephone-band resampling) and shaped by the clip's own
short-time loudness, so the mark is as loud as the speech it hides in and silent where the clip is:
watermark-to-signal energy WSR_DB (-32 dB).

Reading is informed: the trace knows which clip a leaked file is a copy of and holds that clip's
unmarked audio. It finds the leak's speed and offset against it (a copy may be cut, resampled, sped
up or slowed down), subtracts the clip, and correlates what is left with each bit's chips. Under
"no mark" each bit's statistic is standard normal whatever the audio, so thresholds are exact.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import scipy.fft
import soxr

RATE = 16_000
BAND_HZ = (300.0, 3400.0)
WSR_DB = -32.0
PAYLOAD_BITS = 32
CRC_BITS = 8
DATA_BITS = PAYLOAD_BITS + CRC_BITS
CODE_BITS = DATA_BITS // 4 * 7  # Hamming(7,4): 70
ENVELOPE_SECONDS = 0.02
# Speeds (leak duration / clip duration, inverted) the reader searches: playback changed by up to 3%.
SPEED_GRID = np.round(np.arange(0.97, 1.0301, 0.0025), 4)
FRAME = 160  # 10 ms envelope frames for the coarse search
# Under "no mark" a payload's score is standard normal: 8 is exceeded by chance once in 10^15 reads.
MIN_SCORE = 8.0
AGREEMENT = 0.8  # share of the bit evidence a named payload must account for (see identify)
BLOCK = 4096  # samples per block for the fine alignment


# ---------------------------------------------------------------- payload coding


def crc8(value: int, bits: int = PAYLOAD_BITS) -> int:
    """CRC-8 (polynomial 0x07) of the payload's bits, most significant first."""
    crc = 0
    for k in range(bits - 1, -1, -1):
        crc ^= ((value >> k) & 1) << 7
        crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


_G = np.array([[1, 0, 0, 0, 1, 1, 0], [0, 1, 0, 0, 1, 0, 1], [0, 0, 1, 0, 0, 1, 1], [0, 0, 0, 1, 1, 1, 1]])
_H = np.array([[1, 1, 0, 1, 1, 0, 0], [1, 0, 1, 1, 0, 1, 0], [0, 1, 1, 1, 0, 0, 1]])
_SYNDROME_TO_BIT = {tuple(_H[:, k]): k for k in range(7)}


def encode_payload(payload: int) -> np.ndarray:
    """The 70 code bits as +1/-1."""
    if not 0 <= payload < 2**PAYLOAD_BITS:
        raise ValueError("payload must fit in 32 bits")
    value = (payload << CRC_BITS) | crc8(payload)
    data = np.array([(value >> k) & 1 for k in range(DATA_BITS - 1, -1, -1)])
    code = (data.reshape(-1, 4) @ _G % 2).reshape(-1)
    return (code * 2 - 1).astype(np.float64)


def decode_payload(soft: np.ndarray) -> int | None:
    """The payload from soft code bits (positive means 1), one error corrected per 7 bits, or
    None when the CRC does not hold."""
    hard = (np.asarray(soft) > 0).astype(int).reshape(-1, 7)
    data = []
    for block in hard:
        syndrome = tuple(_H @ block % 2)
        if any(syndrome):
            block = block.copy()
            block[_SYNDROME_TO_BIT[syndrome]] ^= 1
        data.extend(block[:4])
    value = int("".join(map(str, data)), 2)
    payload, crc = value >> CRC_BITS, value & 0xFF
    return payload if crc8(payload) == crc else None


# ---------------------------------------------------------------- signal pieces


def _chips(key: bytes, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Keyed random signs (+1/-1), and which code bit each sample carries."""
    rng = np.random.default_rng(np.frombuffer(hashlib.sha256(b"watermark chips" + key).digest(), dtype=np.uint64))
    signs = rng.integers(0, 2, length, dtype=np.int8) * np.int8(2) - np.int8(1)
    owner = rng.integers(0, CODE_BITS, length, dtype=np.int16)
    return signs, owner


def _band(x: np.ndarray) -> np.ndarray:
    """Zero-phase band-pass to BAND_HZ (a mask on the FFT), in float32."""
    size = scipy.fft.next_fast_len(len(x), real=True)
    spectrum = scipy.fft.rfft(np.asarray(x, dtype=np.float32), n=size)
    freqs = np.fft.rfftfreq(size, 1.0 / RATE)
    spectrum[(freqs < BAND_HZ[0]) | (freqs > BAND_HZ[1])] = 0
    return scipy.fft.irfft(spectrum, n=size)[: len(x)]


def envelope(x: np.ndarray) -> np.ndarray:
    """Short-time RMS (ENVELOPE_SECONDS window) at every 5 ms, interpolated linearly to each sample
    between the centres of its 5 ms frames (held flat before the first centre and after the last)."""
    hop = RATE // 200
    count = -(-len(x) // hop)
    padded = np.zeros(count * hop, dtype=np.float32)
    padded[: len(x)] = x
    energy = np.mean(padded.reshape(count, hop) ** 2, axis=1)
    width = max(1, int(ENVELOPE_SECONDS * RATE) // hop)
    smooth = np.convolve(energy, np.ones(width, dtype=np.float32) / width, mode="same")[:count].astype(np.float32)
    # Sample r of frame m lies between the centres of frames m-1 and m (first half) or m and m+1
    # (second half): the frames' values side by side, edges repeated, weighted by where it lies.
    edged = np.concatenate([smooth[:1], smooth, smooth[-1:]])
    before, own, after = edged[:count, None], edged[1:count + 1, None], edged[2:count + 2, None]
    half = hop // 2
    weight = np.arange(hop, dtype=np.float32) / hop  # a sample's distance from its frame's start
    rows = np.empty((count, hop), dtype=np.float32)
    rows[:, :half] = before + (own - before) * (weight[:half] + 0.5)
    rows[:, half:] = own + (after - own) * (weight[half:] - 0.5)
    return np.sqrt(np.maximum(rows.reshape(-1)[: len(x)], 0))


def mark_for(x: np.ndarray, key: bytes, payload: int) -> np.ndarray:
    """The watermark to add to `x` (16 kHz mono): WSR_DB below it in energy."""
    x = np.asarray(x, dtype=np.float32)
    if len(x) == 0 or not np.any(x):
        return np.zeros(len(x), dtype=np.float32)
    signs, owner = _chips(key, len(x))
    code = encode_payload(payload).astype(np.int8)
    shaped = envelope(x) * _band(signs * code[owner])
    energy = float(np.dot(shaped, shaped))
    if energy == 0:
        return np.zeros(len(x), dtype=np.float32)
    return shaped * np.float32(np.sqrt(float(np.dot(x, x)) * 10 ** (WSR_DB / 10) / energy))


def embed(x: np.ndarray, key: bytes, payload: int) -> np.ndarray:
    """`x` with the payload's mark added, float32, within full scale."""
    x = np.asarray(x, dtype=np.float32)
    return np.clip(x + mark_for(x, key, payload), -1.0, 1.0)


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class Reading:
    payload: int | None  # decoded and CRC-checked, or None
    bits: np.ndarray  # per code bit: standard normal under "no mark"
    speed: float  # how much faster the leak plays than the clip
    offset_seconds: float  # seconds of the clip missing before the leak's start (negative: the leak has more)
    match: float  # correlation of the aligned leak with the clip, 0..1
    covered: float  # share of the clip the leak contains

    def score(self, payload: int) -> float:
        """Standard normal under "no mark" or "another payload's mark"; large for this payload's mark."""
        return float(np.dot(encode_payload(payload), self.bits) / np.sqrt(CODE_BITS))


def _frames(x: np.ndarray) -> np.ndarray:
    """Loudness contour: log energy per 10 ms, floored at 13 dB under the mean so that noise added
    in the pauses does not reshape it."""
    count = len(x) // FRAME
    energy = np.mean(x[: count * FRAME].reshape(count, FRAME) ** 2, axis=1)
    contour = np.log(energy + 0.05 * energy.mean() + 1e-12)
    return contour - contour.mean()


def _xcorr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Full cross-correlation of a against b: index k + len(b) - 1 is lag k (a shifted right by k)."""
    n = len(a) + len(b) - 1
    size = 1 << (n - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(a, size) * np.fft.rfft(b[::-1], size), size)[:n]


class LeakProfile:
    """A leaked copy's loudness contour at every speed of SPEED_GRID, computed once, so that many
    candidate clips can be compared with it quickly."""

    def __init__(self, leak: np.ndarray):
        self.leak = np.asarray(leak, dtype=np.float64)
        self.frames = {}
        for speed in SPEED_GRID:
            stretched = self.leak if speed == 1.0 else soxr.resample(self.leak, RATE, RATE * speed, quality="LQ")
            if len(stretched) >= 10 * FRAME:
                self.frames[float(speed)] = _frames(stretched)

    def coarse(self, clip: np.ndarray) -> tuple[float, int, float]:
        """(speed, offset in clip samples, normalized correlation 0..1) of the best match with `clip`."""
        reference = _frames(np.asarray(clip, dtype=np.float64))
        best = (1.0, 0, -1.0)
        for speed, frames in self.frames.items():
            norm = max(np.sqrt(np.sum(frames**2) * np.sum(reference**2)), 1e-12)
            score = _xcorr(frames, reference) / norm
            k = int(np.argmax(score))
            if score[k] > best[2]:
                best = (speed, (k - (len(reference) - 1)) * FRAME, float(score[k]))
        return best


def _lag(segment: np.ndarray, block: np.ndarray, search: int) -> float | None:
    """Sub-sample lag of `block` inside `segment` (which has `search` extra samples each side)."""
    corr = _xcorr(segment, block)[len(block) - 1: len(block) - 1 + 2 * search + 1]
    k = int(np.argmax(corr))
    if k == 0 or k == len(corr) - 1 or corr[k] <= 0:
        return None
    a, b, c = corr[k - 1], corr[k], corr[k + 1]
    return k - search + 0.5 * (a - c) / (a - 2 * b + c)


def _robust_line(t: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Theil-Sen line through (t, y): a block whose lag locked onto the wrong pitch period moves it little."""
    i, j = np.triu_indices(len(t), k=1)
    slope = float(np.median((y[j] - y[i]) / (t[j] - t[i])))
    return slope, float(np.median(y - slope * t))


def _shift(x: np.ndarray, delay: float, length: int) -> np.ndarray:
    """x delayed by a fractional number of samples (FFT phase ramp), cut or padded to `length`."""
    size = 1 << (max(len(x), length) + 64).bit_length()
    spectrum = np.fft.rfft(x, size) * np.exp(-2j * np.pi * np.fft.rfftfreq(size) * delay)
    return np.fft.irfft(spectrum, size)[:length]


def _block_lags(stretched: np.ndarray, clip: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """(centre, position in `stretched` minus position in the clip) of every audible block of the
    clip, searched within 2 frames of `offset`."""
    search = 2 * FRAME
    centers, lags = [], []
    for start in range(0, len(clip) - BLOCK, BLOCK // 2):
        block = clip[start:start + BLOCK]
        lo = start + offset - search
        if np.sqrt(np.mean(block**2)) < 0.01 or lo < 0 or lo + BLOCK + 2 * search > len(stretched):
            continue
        lag = _lag(stretched[lo:lo + BLOCK + 2 * search], block, search)
        if lag is not None:
            centers.append(start + BLOCK / 2)
            lags.append(offset + lag)
    return np.array(centers), np.array(lags)


def align(leak: np.ndarray, clip: np.ndarray, profile: LeakProfile | None = None,
          ) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    """The leak on the clip's time base: (aligned samples, mask of clip samples the leak covers,
    speed, offset in seconds, match). Coarse: envelopes over a grid of speeds; fine: sub-sample lags
    of blocks fitted to a straight line, then one resampling and a fractional shift."""
    leak = np.asarray(leak, dtype=np.float64)
    clip = np.asarray(clip, dtype=np.float64)
    speed, offset, _ = (profile or LeakProfile(leak)).coarse(clip)
    for _ in range(2):
        stretched = soxr.resample(leak, RATE, RATE * speed, quality="VHQ").astype(np.float64)
        centers, lags = _block_lags(stretched, clip, offset)
        if len(centers) < 2:
            break
        slope, intercept = _robust_line(centers, lags)
        # Clip sample n sits at (1 + slope) n + intercept of the stretched leak: stretch it by 1 / (1 + slope).
        speed /= 1.0 + slope
        offset = int(round(intercept))
        if abs(slope) * len(clip) < 0.05:
            break
    stretched = soxr.resample(leak, RATE, RATE * speed, quality="VHQ").astype(np.float64)
    # Final fractional offset from the blocks, then the leak shifted onto the clip's samples.
    _, lags = _block_lags(stretched, clip, offset)
    total = float(np.median(lags)) if len(lags) else float(offset)
    aligned = _shift(stretched, -total, len(clip))
    covered = np.zeros(len(clip), dtype=bool)
    first, last = int(np.ceil(-total)), int(np.floor(len(stretched) - total))
    covered[max(0, first + 64):max(0, min(len(clip), last - 64))] = True
    match = 0.0
    if covered.any():
        a, b = aligned[covered], clip[covered]
        match = float(np.dot(a, b) / max(np.sqrt(np.dot(a, a) * np.dot(b, b)), 1e-12))
    return aligned, covered, speed, -total / RATE, match


def read(leak: np.ndarray, clip: np.ndarray, key: bytes, profile: LeakProfile | None = None) -> Reading:
    """Read the mark a leaked copy (16 kHz mono) of `clip` (the unmarked audio) carries."""
    clip = np.asarray(clip, dtype=np.float64)
    aligned, covered, speed, offset, match = align(leak, clip, profile)
    if not covered.any():
        return Reading(None, np.zeros(CODE_BITS), speed, offset, match, 0.0)
    gain = np.dot(aligned[covered], clip[covered]) / max(np.dot(clip[covered], clip[covered]), 1e-12)
    residual = np.where(covered, aligned - gain * clip, 0.0)
    # Correlating with envelope-shaped, band-limited chips equals correlating the band-limited,
    # envelope-weighted residual with the raw chips (the band-pass is its own adjoint).
    weighted = _band(envelope(clip) * residual).astype(np.float64)
    signs, owner = _chips(key, len(clip))
    sums = np.bincount(owner[covered], weights=(weighted * signs)[covered], minlength=CODE_BITS)
    spread = np.sqrt(np.bincount(owner[covered], weights=weighted[covered] ** 2, minlength=CODE_BITS))
    bits = np.where(spread > 0, sums / np.maximum(spread, 1e-30), 0.0)
    return Reading(decode_payload(bits), bits, speed, offset, match, float(covered.mean()))


def identify(reading: Reading, payloads: list[int], min_score: float = MIN_SCORE) -> int | None:
    """Which of the candidate payloads (a clip's served assignments) the reading names, or None.

    The best-scoring candidate is named if it scores at least `min_score` and either is the payload
    decoded with a valid CRC, or carries at least AGREEMENT of the reading's bit evidence (its score
    against the score every bit agreeing would give). Under no mark every score is standard normal.
    Under another payload's mark a candidate's share is its codeword's correlation with that payload:
    about 0 +- 0.12 for random payloads, so 0.8 would need 63 of 70 bits to agree by chance.
    """
    if not payloads:
        return None
    scores = {payload: reading.score(payload) for payload in payloads}
    best = max(scores, key=scores.__getitem__)
    evidence = float(np.sum(np.abs(reading.bits)) / np.sqrt(CODE_BITS))
    if scores[best] < min_score:
        return None
    if reading.payload == best or scores[best] >= AGREEMENT * evidence:
        return best
    return None
