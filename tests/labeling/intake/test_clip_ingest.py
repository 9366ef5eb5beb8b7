"""Ingest: the consent gate, encryption at rest, and a clear 4xx with nothing stored for bad input."""

import numpy as np
import pytest

from labeling.models import Clip, ClipStatus
from tests.factories import encode, make_subject, metadata, upload

pytestmark = pytest.mark.django_db


def test_consented_clip_is_received_encrypted_and_enqueued(device_client, subject, speech_wav, store,
                                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(device_client, speech_wav, metadata())
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "received"
    clip = Clip.objects.get(pk=response.json()["id"])
    assert clip.status == ClipStatus.RECEIVED and clip.account == subject
    files = store.files()
    assert len(files) == 1
    blob = store.read(str(files[0]))
    assert b"RIFF" not in blob and speech_wav[1000:1100] not in blob
    assert len(callbacks) == 1  # the pipeline task, sent once the row is committed


def test_unknown_account_is_not_retained_and_nothing_is_written(device_client, speech_wav, store):
    response = upload(device_client, speech_wav, metadata(account="nobody-knows-me"))
    assert response.status_code == 202
    assert response.json() == {"id": None, "status": "not_retained", "reason": "no_review_consent"}
    assert Clip.objects.count() == 0 and store.files() == []


def test_account_without_consent_keeps_a_row_without_audio(device_client, speech_wav, store):
    make_subject("acct-no", consent=False)
    response = upload(device_client, speech_wav, metadata(account="acct-no"))
    body = response.json()
    assert body["status"] == "not_retained" and body["reason"] == "no_review_consent"
    clip = Clip.objects.get(pk=body["id"])
    assert clip.status == ClipStatus.DISCARDED and clip.wrapped_key is None and clip.raw_path == ""
    assert store.files() == []


def test_revoked_consent_is_no_consent(device_client, subject, speech_wav, store):
    from portal.services import consent_set

    consent_set(account=subject, granted=False, channel="portal")
    assert upload(device_client, speech_wav, metadata()).json()["reason"] == "no_review_consent"
    assert store.files() == []


def test_accidental_activation_is_not_retained(device_client, subject, speech_wav, store, settings):
    settings.ACCIDENTAL_WAKE_THRESHOLD = 0.6
    response = upload(device_client, speech_wav, metadata(wake_word_score=0.42))
    assert response.json()["reason"] == "accidental"
    assert store.files() == []


def test_review_sample_is_deterministic_per_clip(device_client, subject, speech_wav, store, settings):
    settings.REVIEW_SAMPLE_RATE = 0.5
    outcomes = {}
    for minute in range(20):
        meta = metadata(recorded_at=f"2026-03-01T10:{minute:02d}:00+00:00")
        first = upload(device_client, speech_wav, meta).json()
        again = upload(device_client, speech_wav, meta).json()
        assert first["status"] == again["status"]
        outcomes[minute] = first["status"]
    assert set(outcomes.values()) == {"received", "not_retained"}  # 20 draws at 50%: both occur
    not_sampled = Clip.objects.filter(status_reason="not_sampled").count()
    assert not_sampled == 2 * list(outcomes.values()).count("not_retained")
    assert len(store.files()) == 2 * list(outcomes.values()).count("received")


def test_formats_other_than_wav_are_accepted(device_client, subject, speech_wav):
    import io

    import soundfile as sf

    samples, rate = sf.read(io.BytesIO(speech_wav), dtype="float32")
    for fmt, kwargs, name in [("FLAC", {}, "c.flac"), ("OGG", {"subtype": "VORBIS"}, "c.ogg"),
                              ("MP3", {"subtype": "MPEG_LAYER_III"}, "c.mp3")]:
        response = upload(device_client, encode(samples, rate, fmt, **kwargs), metadata(), filename=name)
        assert response.status_code == 202 and response.json()["status"] == "received", response.content


# ---- bad input: each gets its own 4xx, an error naming the problem, and nothing stored


def _refused(response, status, code, store):
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert Clip.objects.count() == 0
    assert store.files() == []


def test_missing_key_is_401(subject, speech_wav, store):
    from rest_framework.test import APIClient

    response = upload(APIClient(), speech_wav, metadata())
    assert response.status_code in (401, 403)
    assert Clip.objects.count() == 0 and store.files() == []


def test_wrong_key_is_401(subject, speech_wav, store, device_key):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {device_key[:-3]}xyz")
    _refused(upload(client, speech_wav, metadata()), 401, "authentication_failed", store)


def test_missing_audio(device_client, subject, store):
    _refused(upload(device_client, None, metadata()), 400, "missing_audio", store)


def test_empty_audio(device_client, subject, store):
    _refused(upload(device_client, b"", metadata()), 400, "empty_audio", store)


def test_not_audio(device_client, subject, store):
    _refused(upload(device_client, b"GIF89a" + bytes(5000), metadata()), 400, "unsupported_audio", store)


def test_corrupt_audio(device_client, subject, store, speech_wav):
    corrupt = b"RIFF" + speech_wav[4:40].replace(b"WAVE", b"WAVX") + speech_wav[40:]
    _refused(upload(device_client, corrupt, metadata()), 400, "unsupported_audio", store)


def test_over_size_limit(device_client, subject, store, speech_wav, settings):
    settings.MAX_UPLOAD_BYTES = 100_000
    _refused(upload(device_client, speech_wav, metadata()), 413, "audio_too_large", store)


def test_over_duration_limit_from_header(device_client, subject, store):
    long_flac = encode(np.zeros(16000 * 65, dtype=np.float32), 16000, "FLAC")
    _refused(upload(device_client, long_flac, metadata(), "long.flac"), 413, "audio_too_long", store)


def test_missing_metadata(device_client, subject, store, speech_wav):
    _refused(upload(device_client, speech_wav, None), 400, "missing_metadata", store)


def test_metadata_not_json(device_client, subject, store, speech_wav):
    _refused(upload(device_client, speech_wav, "{account: 1"), 400, "invalid_metadata", store)


def test_metadata_not_an_object(device_client, subject, store, speech_wav):
    _refused(upload(device_client, speech_wav, "[1, 2]"), 400, "invalid_metadata", store)


@pytest.mark.parametrize("field,value", [
    ("wake_word_score", 1.7),
    ("wake_word_score", "high"),
    ("recorded_at", "yesterday"),
    ("recorded_at", "2999-01-01T00:00:00Z"),
    ("locale", "english please"),
    ("device_serial", ""),
    ("account", "x" * 200),
])
def test_bad_metadata_field_is_named(device_client, subject, store, speech_wav, field, value):
    response = upload(device_client, speech_wav, metadata(**{field: value}))
    _refused(response, 400, "invalid_metadata", store)
    assert field in response.json()["error"]["fields"]["metadata"]


def test_missing_metadata_field_is_named(device_client, subject, store, speech_wav):
    meta = metadata()
    del meta["device_serial"]
    response = upload(device_client, speech_wav, meta)
    _refused(response, 400, "invalid_metadata", store)
    assert "device_serial" in response.json()["error"]["fields"]["metadata"]


def test_unexpected_metadata_field_is_refused(device_client, subject, store, speech_wav):
    response = upload(device_client, speech_wav, metadata(gps="48.85,2.35"))
    _refused(response, 400, "invalid_metadata", store)
    assert "gps" in response.json()["error"]["fields"]["metadata"]


def test_oversized_metadata(device_client, subject, store, speech_wav):
    _refused(upload(device_client, speech_wav, metadata(first_name="a" * 5000)), 413, "metadata_too_large", store)
