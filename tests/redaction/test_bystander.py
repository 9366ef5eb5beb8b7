"""A second talker is found under the owner's command or in an aside of its own; one voice, noise or a room is not."""

import numpy as np
import pytest
import soundfile as sf

from redaction.bystander import Talkers, find_second_talker
from redaction.vad import speech_frames, trim_silence
from tests.factories import AUDIO, DEMO_AUDIO

RATE = 16_000
GAP = 0.3  # seconds between the command and a bystander's aside


def load(path):
    samples, rate = sf.read(path, dtype="float32")
    assert rate == RATE
    return samples


def talkers(samples):
    """What the pipeline sees: the clip trimmed of silence and the detector's frames over the trimmed audio."""
    trimmed = trim_silence(samples.astype(np.float32), RATE)
    speech = speech_frames(trimmed.audio, RATE, aggressiveness=3)
    return find_second_talker(trimmed.audio, RATE, speech), trimmed


def voiced_range(samples):
    """First and last sample of the loud part: where the voice in a fixture starts and ends."""
    count = len(samples) // 480
    energy = 10 * np.log10(np.mean(samples[: count * 480].reshape(count, 480) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(energy > energy.max() - 35)
    return loud[0] * 480, (loud[-1] + 1) * 480


def quieter(voice, reference, db):
    """`voice`'s loud part, scaled to `db` under the loudness of `reference`'s."""
    a, b = voiced_range(voice)
    c, d = voiced_range(reference)
    return voice[a:b] * (np.sqrt(np.mean(reference[c:d] ** 2)) / np.sqrt(np.mean(voice[a:b] ** 2)) * 10 ** (-db / 20))


def aside_after(owner, bystander, db):
    """The bystander's words GAP seconds after the owner's command; returns the clip and where the aside lies."""
    _, end = voiced_range(owner)
    aside = quieter(bystander, owner, db).astype(np.float32)
    gap = np.zeros(int(GAP * RATE), dtype=np.float32)
    clip = np.concatenate([owner[:end], gap, aside, owner[end:]])
    start = end + len(gap)
    return clip, (start / RATE, (start + len(aside)) / RATE)


def trimmed_time(t, segments):
    """An input time as seconds of the trimmed audio (inverse of redaction.pipeline.input_time)."""
    elapsed = 0.0
    for start, end in segments:
        if t <= end:
            return elapsed + max(0.0, t - start)
        elapsed += end - start
    return elapsed


def test_number_said_under_the_command_is_found():
    # The reported attack: a second person, 8 dB quieter, reads out a number while the owner asks for the weather.
    owner = load(DEMO_AUDIO / "weather.wav")  # rms
    bystander = load(AUDIO / "pii_number.wav")  # slt
    start, end = voiced_range(owner)
    under = quieter(bystander, owner, 8)[: end - start - RATE // 2]
    clip = owner.copy()
    clip[start + RATE // 2 : start + RATE // 2 + len(under)] += under
    result, _ = talkers(clip)
    assert result.overlap
    assert result.found


def test_quiet_aside_after_the_command_is_found_where_it_was_said():
    owner = load(DEMO_AUDIO / "weather.wav")
    clip, (aside_start, aside_end) = aside_after(owner, load(AUDIO / "pii_number.wav"), db=10)
    result, trimmed = talkers(clip)
    assert result.spans
    start, end = trimmed_time(aside_start, trimmed.segments), trimmed_time(aside_end, trimmed.segments)
    covered = sum(max(0.0, min(b, end) - max(a, start)) for a, b in result.spans)
    assert covered >= 0.9 * (end - start)  # the bystander's words are inside the spans
    first = min(a for a, _ in result.spans)
    assert start - 1.0 < first <= start + 0.2  # and the span starts about where the aside was placed
    assert result.owner_louder  # the owner is told apart by level: the aside is the quieter voice


def test_aside_in_a_voice_like_the_owners_is_found_when_quieter():
    # Two men of close pitch (awb the owner, rms the bystander): the level gap gives the aside away.
    owner = load(DEMO_AUDIO / "shopping.wav")
    clip, (aside_start, aside_end) = aside_after(owner, load(AUDIO / "pii_name_number.wav"), db=10)
    result, trimmed = talkers(clip)
    start, end = trimmed_time(aside_start, trimmed.segments), trimmed_time(aside_end, trimmed.segments)
    covered = sum(max(0.0, min(b, end) - max(a, start)) for a, b in result.spans)
    assert covered >= 0.9 * (end - start)
    assert result.level_gap_db > 7


def test_two_voices_of_the_committed_fixture_are_told_apart():
    # two_voices.wav is slt, then kal16 after a pause: two talkers at about the same level.
    result, trimmed = talkers(load(AUDIO / "two_voices.wav"))
    assert result.found
    first_segment = trimmed.segments[0][1] - trimmed.segments[0][0]
    # The span is in the second voice's part; it may take the owner's last syllable (0.4 s at most).
    assert all(a >= first_segment - 0.4 for a, _ in result.spans)


@pytest.mark.parametrize("path", [
    DEMO_AUDIO / "lights.wav", DEMO_AUDIO / "weather.wav", DEMO_AUDIO / "shopping.wav",
    AUDIO / "pii_number.wav", AUDIO / "pii_name_number.wav", AUDIO / "speech_with_silence.wav",
])
def test_one_voice_is_not_a_second_talker(path):
    result, _ = talkers(load(path))
    assert not result.found
    assert result.spans == []


@pytest.mark.parametrize("snr_db", [5, 10, 20])
def test_one_voice_in_noise_is_not_a_second_talker(snr_db):
    rng = np.random.default_rng(snr_db)
    for name in ("lights.wav", "weather.wav", "shopping.wav"):
        voice = load(DEMO_AUDIO / name)
        start, end = voiced_range(voice)
        noise = rng.standard_normal(len(voice)) * np.sqrt(np.mean(voice[start:end] ** 2) / 10 ** (snr_db / 10))
        assert not talkers(voice + noise)[0].found, name


def test_one_voice_in_a_reverberant_room_is_not_a_second_talker():
    rng = np.random.default_rng(1)
    rt60 = 0.5
    t = np.arange(int(rt60 * RATE)) / RATE
    response = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60) * 0.25
    response[0] = 1.0
    for name in ("lights.wav", "weather.wav", "shopping.wav"):
        voice = load(DEMO_AUDIO / name)
        wet = np.convolve(voice, response)[: len(voice)]
        assert not talkers(wet / np.max(np.abs(wet)) * 0.5)[0].found, name


def test_noise_alone_is_not_a_second_talker():
    result, _ = talkers(load(AUDIO / "noise_only.wav"))
    assert result == Talkers(overlap=False)


def test_no_speech_or_too_little_audio_finds_nothing():
    assert not find_second_talker(np.zeros(16_000, dtype=np.float32), RATE, np.zeros(33, dtype=bool)).found
    assert not find_second_talker(np.zeros(100, dtype=np.float32), RATE, np.zeros(0, dtype=bool)).found
    short = load(DEMO_AUDIO / "weather.wav")[: RATE // 2]
    assert not find_second_talker(short, RATE, np.ones(16, dtype=bool)).found
