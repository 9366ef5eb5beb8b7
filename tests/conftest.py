"""Shared fixtures: people in each role, clips in each state, audio fixtures, clean storage."""

from __future__ import annotations

import io
import json
import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from consent.models import Account
from consent.services import account_create
from labeling import vault
from labeling.models import Clip, ClipStatus, Project
from labeling.services import ingest_key_create, project_member_add
from portal.services import consent_set

AUDIO = Path(__file__).resolve().parent / "fixtures" / "audio"
DEMO_AUDIO = Path(__file__).resolve().parent.parent / "labeling" / "demo_audio"


def pytest_report_header(config):
    from django.conf import settings

    db = settings.DATABASES["default"]
    engine = db["ENGINE"].rsplit(".", 1)[-1]
    return f"database: {engine} {db.get('HOST')}:{db.get('PORT')}; broker: {settings.CELERY_BROKER_URL}"


@pytest.fixture(autouse=True)
def _storage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; tests hold no secrets
    return Path(settings.MEDIA_ROOT)


@pytest.fixture(autouse=True)
def _unpaced(settings):
    """Tests claim clips back to back; the pace between claims is tested on its own (test_work_rules)."""
    settings.WORK_MIN_CLAIM_INTERVAL_SECONDS = 0


@pytest.fixture(autouse=True)
def _agreement_sampling_off(request):
    """A sampled clip goes to a second annotator before any new clip, which would change which clip
    a test gets next; tests of agreement (test_quality) turn sampling on in their project."""
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in request.fixturenames or (marker is not None and marker.kwargs.get("transaction")):
        request.getfixturevalue("transactional_db")
    elif marker is not None or "db" in request.fixturenames:
        request.getfixturevalue("db")
    else:
        return  # a test without the database
    Project.objects.filter(slug=settings.DEFAULT_PROJECT).update(agreement_share=0)


@pytest.fixture
def media_root(_storage) -> Path:
    return _storage


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def speech_wav() -> bytes:
    return (AUDIO / "speech_with_silence.wav").read_bytes()


@pytest.fixture
def noise_wav() -> bytes:
    return (AUDIO / "noise_only.wav").read_bytes()


def encode(samples: np.ndarray, rate: int, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt, **kwargs)
    return buffer.getvalue()


def make_user(username: str, role: str | None = None) -> User:
    user = User.objects.create_user(username=username, password="correct horse battery")
    if role:
        user.groups.add(Group.objects.get(name=role))
        project_member_add(user=user, role=role)
    return user


@pytest.fixture
def annotator(db) -> User:
    return make_user("ann-1", "annotator")


@pytest.fixture
def other_annotator(db) -> User:
    return make_user("ann-2", "annotator")


@pytest.fixture
def supervisor(db) -> User:
    return make_user("sup-1", "supervisor")


def make_subject(external_id: str = "acct-7731", first_name: str = "Marguerite", consent: bool = True) -> Account:
    user = make_user(f"owner-{external_id}")
    account = account_create(external_id=external_id, first_name=first_name, user=user)
    if consent:
        consent_set(account=account, granted=True, channel="portal")
    return account


@pytest.fixture
def subject(db) -> Account:
    return make_subject()


@pytest.fixture
def device_key(db) -> str:
    return ingest_key_create(name="test device")[1]


@pytest.fixture
def device_client(device_key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {device_key}")
    return client


def client_for(user: User, *, verified: bool = True) -> APIClient:
    """A signed-in client; `verified`: the sign-in was confirmed with an authenticator code, as
    staff must (data subjects without an authenticator need none)."""
    client = APIClient()
    client.force_login(user)
    if verified:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
            user=user, name="test authenticator", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


def claim(client: APIClient) -> dict:
    """Start a shift if none is open and claim the next clip, which must be there."""
    client.post("/api/v1/shifts")
    response = client.post("/api/v1/assignments/next")
    assert response.status_code == 200, response.content
    return response.json()


def fetch_audio(client: APIClient, assignment: dict, token: str | None = None):
    """GET an assignment's audio as the annotator page does, with the token its claim returned."""
    return client.get(f"/api/v1/assignments/{assignment['id']}/audio",
                      HTTP_X_AUDIO_TOKEN=assignment["audio_token"] if token is None else token)


def metadata(account: str = "acct-7731", **overrides) -> dict:
    body = {
        "account": account,
        "device_serial": "SN-Q9X4-77821",
        "first_name": "Marguerite",
        "recorded_at": (timezone.now() - timedelta(minutes=3)).replace(microsecond=0).isoformat(),
        "wake_word_score": 0.91,
        "locale": "en-US",
    }
    body.update(overrides)
    return body


def upload(client: APIClient, audio: bytes | None, meta: dict | str | None, filename: str = "clip.wav"):
    data = {}
    if audio is not None:
        data["audio"] = io.BytesIO(audio)
        data["audio"].name = filename
    if meta is not None:
        data["metadata"] = meta if isinstance(meta, str) else json.dumps(meta)
    return client.post("/api/v1/clips", data, format="multipart")


def queued_clip(account: Account, *, seconds: float = 1.0, queued_at=None, samples: np.ndarray | None = None,
                project: Project | None = None) -> Clip:
    """A clip as the pipeline leaves it: encrypted de-identified audio (a tone, or `samples` at
    16 kHz), status queued. Tests of claiming and serving use it to skip the pipeline's audio work.
    """
    clip_id = uuid.uuid4()
    key, wrapped = vault.new_data_key(clip_id)
    if samples is None:
        samples = (0.2 * np.sin(2 * np.pi * 220 * np.arange(int(16000 * seconds)) / 16000)).astype(np.float32)
    seconds = len(samples) / 16000
    path = vault.store_audio(clip_id, key, "deid", encode(samples, 16000, "WAV", subtype="PCM_16"))
    now = timezone.now()
    return Clip.objects.create(
        id=clip_id, account=account, project=project or Project.objects.get(slug=settings.DEFAULT_PROJECT),
        device_serial="SN-Q9X4-77821", recorded_at=now - timedelta(hours=1),
        wake_word_score=0.9, locale="en-US", status=ClipStatus.QUEUED, wrapped_key=wrapped, deid_path=path,
        duration_seconds=seconds, queued_at=queued_at or now,
    )


@pytest.fixture
def on_postgres():
    """For tests marked postgres_only: they must not pass vacuously on another database."""
    if connection.vendor != "postgresql":
        pytest.fail("This test needs PostgreSQL; run it through 'make test'.")
