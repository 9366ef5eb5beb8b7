"""Probe and decode accept the four formats and refuse bad audio before decoding it."""

import io
import struct

import numpy as np
import pytest
import soundfile as sf

from redaction.audio import AudioError, decode, encode_wav, probe, to_target_rate
from tests.factories import AUDIO, encode


@pytest.fixture(scope="module")
def speech():
    samples, rate = sf.read(AUDIO / "speech_with_silence.wav", dtype="float32")
    return samples, rate


@pytest.mark.parametrize("fmt,kwargs,name", [
    ("WAV", {"subtype": "PCM_16"}, "wav"),
    ("FLAC", {}, "flac"),
    ("OGG", {"subtype": "VORBIS"}, "ogg"),
    ("MP3", {"subtype": "MPEG_LAYER_III"}, "mp3"),
])
def test_each_supported_format_decodes_to_mono(speech, fmt, kwargs, name):
    samples, rate = speech
    stereo = np.stack([samples, samples * 0.5], axis=1)
    data = encode(stereo, 44100 if fmt != "OGG" else 22050, fmt, **kwargs)
    info = probe(data, max_seconds=60)
    assert info.format == name and info.channels == 2
    mono, out_rate = decode(data, max_seconds=60)
    assert mono.ndim == 1 and out_rate == info.samplerate
    assert abs(len(mono) - len(samples)) < 0.1 * out_rate  # codecs may pad a little


def test_resampling_gives_16k_of_the_same_length(speech):
    samples, _ = speech
    resampled = to_target_rate(np.repeat(samples, 3)[: len(samples) * 3], 48000)
    assert abs(len(resampled) - len(samples)) <= 2


def test_empty_bytes_are_refused():
    with pytest.raises(AudioError) as caught:
        probe(b"", max_seconds=60)
    assert caught.value.code == "empty_audio"


def test_non_audio_is_refused():
    with pytest.raises(AudioError) as caught:
        probe(b"%PDF-1.7 this is not sound at all" * 40, max_seconds=60)
    assert caught.value.code == "unsupported_audio"


def test_too_long_is_refused_from_the_header():
    silent = np.zeros(16000 * 61, dtype=np.float32)
    with pytest.raises(AudioError) as caught:
        probe(encode(silent, 16000, "FLAC"), max_seconds=60)
    assert caught.value.code == "audio_too_long"


def test_many_channels_and_extreme_rates_are_refused():
    eight = np.zeros((1000, 8), dtype=np.float32)
    with pytest.raises(AudioError):
        probe(encode(eight, 16000, "WAV", subtype="PCM_16"), max_seconds=60)
    with pytest.raises(AudioError):
        probe(encode(np.zeros(1000, dtype=np.float32), 192000, "WAV", subtype="PCM_16"), max_seconds=60)


def test_header_that_understates_length_cannot_make_decode_read_past_the_limit():
    wav = bytearray(encode(np.zeros(16000 * 5, dtype=np.float32), 16000, "WAV", subtype="PCM_16"))
    # Claim one second in the header; the data chunk holds five.
    data_at = wav.index(b"data")
    wav[data_at + 4 : data_at + 8] = struct.pack("<I", 16000 * 2)
    mono, _ = decode(bytes(wav), max_seconds=2)
    assert len(mono) <= 16000 * 2


def test_truncated_file_is_refused_or_decodes_only_what_is_there(speech):
    samples, rate = speech
    flac = encode(samples, rate, "FLAC")
    truncated = flac[: len(flac) // 3]
    try:
        mono, _ = decode(truncated, max_seconds=60)
    except AudioError as exc:
        assert exc.code in {"corrupt_audio", "unsupported_audio"}
    else:
        assert len(mono) < len(samples)


def test_encode_wav_round_trips():
    tone = (0.5 * np.sin(np.arange(1600) / 5)).astype(np.float32)
    back, rate = sf.read(io.BytesIO(encode_wav(tone)), dtype="float32")
    assert rate == 16000 and np.max(np.abs(back - tone)) < 1e-3
