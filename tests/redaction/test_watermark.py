"""The watermark is inaudible by energy, names its payload after each attack the trace must survive,
and names nothing in unmarked audio or under the wrong key."""

import io

import numpy as np
import pytest
import soundfile as sf
import soxr

from redaction import watermark as W
from redaction.voice import disguise, draw_disguise
from tests.factories import DEMO_AUDIO

KEY = b"clip key"
PAYLOAD = 0xC0FFEE42


@pytest.fixture(scope="module")
def clip():
    samples, rate = sf.read(DEMO_AUDIO / "lights.wav", dtype="float32")
    return disguise(samples, rate, draw_disguise(3))


def mp3_64k(samples):
    """MP3 at 64 kbps (libsndfile's LAME at 16 kHz, constant bit rate) and back."""
    buffer = io.BytesIO()
    sf.write(buffer, samples, W.RATE, format="MP3", bitrate_mode="CONSTANT", compression_level=0.6)
    kbps = len(buffer.getvalue()) * 8 / (len(samples) / W.RATE) / 1000
    assert 60 <= kbps <= 70
    buffer.seek(0)
    return sf.read(buffer, dtype="float32")[0]


def noise_20db(samples):
    noise = np.random.default_rng(1).standard_normal(len(samples))
    return samples + noise * np.sqrt(np.mean(samples.astype(np.float64) ** 2) / 100)


ATTACKS = {
    "none": lambda a: a,
    "mp3 64 kbps": mp3_64k,
    "resampled to 8 kHz": lambda a: soxr.resample(a, W.RATE, 8000),
    "resampled to 44.1 kHz": lambda a: soxr.resample(a, W.RATE, 44100),
    "gain +6 dB": lambda a: np.clip(a * 2.0, -1, 1),
    "gain -6 dB": lambda a: a * 0.5,
    "first second cut": lambda a: a[W.RATE:],
    "noise at 20 dB SNR": noise_20db,
    "2% faster": lambda a: soxr.resample(a, W.RATE, W.RATE / 1.02),
    "2% slower": lambda a: soxr.resample(a, W.RATE, W.RATE * 1.02),
}
RATES = {"resampled to 8 kHz": 8000, "resampled to 44.1 kHz": 44100}


def test_the_mark_is_at_least_30_db_under_the_clip_and_only_where_it_speaks(clip):
    marked = W.embed(clip, KEY, PAYLOAD)
    mark = marked.astype(np.float64) - clip
    assert 10 * np.log10(np.sum(mark**2) / np.sum(clip.astype(np.float64) ** 2)) <= -30
    quiet = W.envelope(clip) < 1e-4
    assert np.all(np.abs(mark[quiet]) < 1e-3)


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_the_payload_survives(clip, attack):
    leak = ATTACKS[attack](W.embed(clip, KEY, PAYLOAD))
    rate = RATES.get(attack, W.RATE)
    if rate != W.RATE:
        leak = soxr.resample(leak, rate, W.RATE)
    reading = W.read(leak, clip, KEY)
    assert reading.payload == PAYLOAD
    assert reading.score(PAYLOAD) >= 8
    if "faster" in attack or "slower" in attack:
        assert reading.speed == pytest.approx(1.02 if "faster" in attack else 1 / 1.02, abs=2e-4)
    if attack == "first second cut":
        assert reading.offset_seconds == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("attack", ["none", "mp3 64 kbps", "noise at 20 dB SNR"])
def test_unmarked_audio_names_no_payload(clip, attack):
    reading = W.read(ATTACKS[attack](clip), clip, KEY)
    assert reading.payload is None
    assert abs(reading.score(PAYLOAD)) < 5


def test_another_key_reads_nothing(clip):
    reading = W.read(W.embed(clip, KEY, PAYLOAD), clip, b"another clip's key")
    assert reading.payload is None and abs(reading.score(PAYLOAD)) < 5


def test_code_corrects_one_error_in_each_seven_bits_and_the_crc_catches_more():
    soft = W.encode_payload(PAYLOAD)
    once = soft.copy()
    once[::7] *= -1  # one flipped bit in every block of seven
    assert W.decode_payload(once) == PAYLOAD
    twice = soft.copy()
    twice[0:2] *= -1  # two errors in one block: corrected wrongly, then refused by the CRC
    assert W.decode_payload(twice) is None


def test_identify_names_the_marked_candidate_and_never_another(clip):
    other = 0x0BADBEEF
    marked = W.read(mp3_64k(W.embed(clip, KEY, PAYLOAD)), clip, KEY)
    assert W.identify(marked, [other, PAYLOAD]) == PAYLOAD
    assert W.identify(marked, [other]) is None
    assert W.identify(W.read(clip, clip, KEY), [other, PAYLOAD]) is None
