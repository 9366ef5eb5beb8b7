"""Hostile uploads: files built to exhaust memory or time, lying headers, non-audio, oversized or
unexpected fields. Each is refused from its header with a clear 4xx and nothing stored, or, where
the header lies, decoding stops at the duration limit and the clip is held."""

from __future__ import annotations

import io
import struct
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from labeling.intake.services import clip_process
from labeling.models import Clip, ClipStatus
from tests.factories import AUDIO, client_for, metadata, queued_clip, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def ten_hour_silent_flac() -> bytes:
    """Ten hours of digital silence at 8 kHz: under a megabyte on disk, 288 million samples decoded."""
    buffer = io.BytesIO()
    with sf.SoundFile(buffer, "w", samplerate=8000, channels=1, format="FLAC", subtype="PCM_16") as handle:
        block = np.zeros(8000 * 600, dtype=np.int16)
        for _ in range(60):
            handle.write(block)
    return buffer.getvalue()


def with_flac_total_samples(flac: bytes, total: int) -> bytes:
    """The same FLAC stream with STREAMINFO's total sample count rewritten (a lying header)."""
    assert flac[:4] == b"fLaC" and flac[4] & 0x7F == 0  # STREAMINFO comes first
    packed = int.from_bytes(flac[18:26], "big")
    packed = (packed & ~((1 << 36) - 1)) | total
    return flac[:18] + packed.to_bytes(8, "big") + flac[26:]


def refused(response, status: int, code: str, store) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert Clip.objects.count() == 0 and store.files() == []


def test_ten_hour_silent_flac_is_refused_from_its_header(device_client, subject, store, ten_hour_silent_flac):
    assert len(ten_hour_silent_flac) < 1_000_000
    response = upload(device_client, ten_hour_silent_flac, metadata(), filename="clip.flac")
    refused(response, 413, "audio_too_long", store)
    assert "36000.0 s" in response.json()["error"]["message"]


def test_flac_whose_header_understates_ten_hours_is_read_no_further_in_bounded_memory(
        device_client, subject, store, ten_hour_silent_flac, settings):
    lying = with_flac_total_samples(ten_hour_silent_flac, 8000)  # says one second
    response = upload(device_client, lying, metadata(), filename="clip.flac")
    assert response.status_code == 202, response.content
    clip_id = response.json()["id"]
    tracemalloc.start()
    try:
        status = clip_process(clip_id=clip_id)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    clip = Clip.objects.get(pk=clip_id)
    # One second of silence was read: no speech. Had the ten hours been decoded, over a gigabyte.
    assert (status, clip.status_reason) == (ClipStatus.DISCARDED, "no_speech")
    assert clip.input_seconds <= settings.MAX_CLIP_SECONDS
    assert peak < 64 * 1024 * 1024
    assert store.files() == []


def test_flac_of_unknown_length_is_refused(device_client, subject, store, ten_hour_silent_flac):
    """A total of 0 means "unknown" in FLAC; libsndfile then reports no end, which is over the limit."""
    response = upload(device_client, with_flac_total_samples(ten_hour_silent_flac, 0), metadata(),
                      filename="clip.flac")
    refused(response, 413, "audio_too_long", store)


def test_eight_channels_at_384_khz_is_refused(device_client, subject, store):
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros((384, 8), dtype=np.float32), 384_000, format="WAV", subtype="PCM_16")
    refused(upload(device_client, buffer.getvalue(), metadata()), 400, "unsupported_audio", store)


def test_wav_header_claiming_four_gigabytes_is_read_for_what_the_file_holds(device_client, subject, store):
    wav = bytearray((AUDIO / "speech_with_silence.wav").read_bytes())
    data_at = wav.index(b"data")
    wav[data_at + 4:data_at + 8] = struct.pack("<I", 0xFFFFFFF0)
    wav[4:8] = struct.pack("<I", 0xFFFFFFF8)
    response = upload(device_client, bytes(wav), metadata())
    assert response.status_code == 202, response.content
    assert clip_process(clip_id=response.json()["id"]) == ClipStatus.QUEUED
    assert Clip.objects.get().input_seconds == pytest.approx(9.32, abs=0.1)  # the samples there are, no more


@pytest.mark.parametrize("name, content", [
    ("clip.wav", b"\x89PNG\r\n\x1a\n" + bytes(2000)),
    ("clip.mp3", b"PK\x03\x04" + bytes(2000)),
    ("clip.flac", b"fLaC" + bytes(100)),  # the magic and nothing sound behind it
    ("clip.wav", b"RIFF\x24\x00\x00\x00WAVEfmt "),  # a header cut off mid-way
    ("clip.ogg", "<html><script>alert(1)</script></html>".encode()),
])
def test_non_audio_with_an_audio_name_is_refused(device_client, subject, store, name, content):
    response = upload(device_client, content, metadata(), filename=name)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] in {"unsupported_audio", "empty_audio"}
    assert Clip.objects.count() == 0 and store.files() == []


def test_truncated_wav_is_taken_for_what_it_holds(device_client, subject, store):
    speech = (AUDIO / "speech_with_silence.wav").read_bytes()
    response = upload(device_client, speech[: len(speech) // 2], metadata())
    assert response.status_code == 202
    assert clip_process(clip_id=response.json()["id"]) == ClipStatus.QUEUED
    assert Clip.objects.get().input_seconds < 5.0  # half of the 9.3 s the header promised


def test_unexpected_upload_fields_are_refused_and_named(device_client, subject, store):
    speech = (AUDIO / "speech_with_silence.wav").read_bytes()
    data = {"audio": io.BytesIO(speech), "metadata": '{"account": "acct-7731"}', "callback_url": "http://x"}
    data["audio"].name = "clip.wav"
    response = device_client.post("/api/v1/clips", data, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"callback_url": ["Unexpected field."]}
    assert Clip.objects.count() == 0 and store.files() == []


def test_unexpected_json_fields_are_refused_and_nothing_changes(subject, annotator):
    owner = client_for(subject.user, verified=False)
    response = owner.put("/api/v1/me/consent", {"human_review": False, "override_policy": True}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"override_policy": ["Unexpected field."]}
    assert owner.get("/api/v1/me/consent").json()["human_review"] is True


def test_oversized_json_body_is_refused_not_a_server_error(annotator, subject):
    queued_clip(subject)
    client = client_for(annotator)
    client.post("/api/v1/shifts")
    assignment = client.post("/api/v1/assignments/next").json()
    response = client.put(f"/api/v1/assignments/{assignment['id']}/draft", {"text": "a" * 3_000_000},
                          format="json")
    assert 400 <= response.status_code < 500, response.status_code
