"""Homes, simulated: a clean clip played in a living room (pyroomacoustics), or heard over noise or babble."""

from __future__ import annotations

import dataclasses
from functools import cache

import numpy as np
from corpus import BABBLE, Clip, active_rms, rng_of, say, seed_of
from scipy.signal import fftconvolve
from synth import RATE, VOICES

RT60 = (0.3, 0.7)  # seconds
DISTANCE = (1.0, 4.0)  # talker to microphone, metres
SNR_DB = (5.0, 20.0)  # noise under the speech's active level


def farfield(clip: Clip) -> Clip:
    """The clip in a shoebox room of living-room size, the microphone 1 to 4 m from the talker. The
    personal data moves by the direct path's delay (the room response's strongest tap); the reverberant
    tail of its last word, which runs on into what follows, is not counted as personal data."""
    import pyroomacoustics as pra

    rng = rng_of("farfield", clip.name)
    while True:
        room_dim = [rng.uniform(3.5, 7.0), rng.uniform(3.0, 5.5), rng.uniform(2.4, 3.0)]
        rt60 = rng.uniform(*RT60)
        talker = [rng.uniform(0.5, room_dim[0] - 0.5), rng.uniform(0.5, room_dim[1] - 0.5), rng.uniform(1.2, 1.7)]
        distance, angle = rng.uniform(*DISTANCE), rng.uniform(0, 2 * np.pi)
        height = rng.uniform(0.7, 1.5)  # a speaker on a shelf or table
        flat = np.sqrt(max(distance ** 2 - (talker[2] - height) ** 2, 0.01))
        mic = [talker[0] + flat * np.cos(angle), talker[1] + flat * np.sin(angle), height]
        if 0.3 < mic[0] < room_dim[0] - 0.3 and 0.3 < mic[1] < room_dim[1] - 0.3:
            break
    absorption, max_order = pra.inverse_sabine(rt60, room_dim)
    room = pra.ShoeBox(room_dim, fs=RATE, materials=pra.Material(absorption), max_order=max_order)
    room.add_source(talker)
    room.add_microphone(mic)
    room.compute_rir()
    rir = np.asarray(room.rir[0][0], dtype=np.float64)
    delay = int(np.argmax(np.abs(rir)))
    heard = fftconvolve(clip.audio.astype(np.float64), rir)[: len(clip.audio) + delay + int(0.3 * RATE)]
    heard = (heard * (active_rms(clip.audio) / active_rms(heard.astype(np.float32)))).astype(np.float32)
    shift = delay / RATE
    return dataclasses.replace(
        clip, name=f"{clip.name}-room", audio=heard, speech=None, condition="farfield",
        pii=None if clip.pii is None else (clip.pii[0] + shift, clip.pii[1] + shift))


def noisy(clip: Clip) -> Clip:
    """The clip with noise at 5 to 20 dB under the speech's active level: stationary pink or brown noise
    for even-numbered sentences, babble of three or four other voices saying ordinary words for odd ones."""
    rng = rng_of("noisy", clip.name)
    snr = rng.uniform(*SNR_DB)
    if clip.number % 2 == 0:
        noise = coloured(len(clip.audio), rng.choice(("pink", "brown")), rng)
        what = "stationary"
    else:
        noise = babble(len(clip.audio), clip.voice, rng)
        what = "babble"
    noise *= active_rms(clip.audio) / (10 ** (snr / 20)) / float(np.sqrt(np.mean(noise ** 2)))
    mixed = (clip.audio + noise).astype(np.float32)
    peak = float(np.abs(mixed).max())
    scale = 0.95 / peak if peak > 0.95 else 1.0
    return dataclasses.replace(clip, name=f"{clip.name}-{what}", audio=mixed * scale, speech=clip.audio * scale,
                               condition="noisy")


def coloured(length: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """Pink (power falls 3 dB an octave) or brown (6 dB) noise, shaped in frequency."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    f = np.fft.rfftfreq(length, 1 / RATE)
    f[0] = f[1]
    spectrum /= np.sqrt(f) if colour == "pink" else f
    return np.fft.irfft(spectrum, length).astype(np.float32)


@cache
def _babble_sentence(voice: str, n: int) -> np.ndarray:
    return say(voice, BABBLE[n], seed=seed_of("babble", voice, n)).audio


def babble(length: int, talker: str, rng: np.random.Generator) -> np.ndarray:
    """Three or four other voices, each saying ordinary sentences one after another from a random point,
    at equal level, summed."""
    others = [v for v in VOICES if v != talker]
    out = np.zeros(length, dtype=np.float32)
    for voice in rng.choice(others, size=int(rng.integers(3, 5)), replace=False):
        order = rng.permutation(len(BABBLE))
        stream = np.concatenate([_babble_sentence(str(voice), int(n)) for n in order])
        start = int(rng.integers(0, max(len(stream) - length, 1)))
        piece = np.resize(stream[start:], length)
        out += piece / max(active_rms(piece), 1e-6)
    return out
