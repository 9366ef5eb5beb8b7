"""Shared fixtures: people in each role, clips in each state, audio fixtures, clean storage."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from config.env import LOCAL_STORAGE
from consent.models import Account
from labeling.intake.services import ingest_key_create
from labeling.models import Project
from tests.factories import AUDIO, Store, make_subject, make_user


def pytest_report_header(config):
    from django.conf import settings

    db = settings.DATABASES["default"]
    engine = db["ENGINE"].rsplit(".", 1)[-1]
    return f"database: {engine} {db.get('HOST')}:{db.get('PORT')}; broker: {settings.CELERY_BROKER_URL}"


@pytest.fixture(autouse=True)
def _storage(settings, tmp_path):
    """Each test starts with empty storage: its own folder, or (on object storage, STORAGE_URL) its
    own prefix in the bucket."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; tests hold no secrets
    default = settings.STORAGES["default"]
    if default["BACKEND"] != LOCAL_STORAGE["BACKEND"]:
        prefix = "/".join(filter(None, [default["OPTIONS"].get("location", ""), f"t-{uuid.uuid4().hex}"]))
        settings.STORAGES = {**settings.STORAGES,
                             "default": {**default, "OPTIONS": {**default["OPTIONS"], "location": prefix}}}
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def store(_storage) -> Store:
    """What storage holds, read the same way on the local folder and on object storage."""
    return Store()


@pytest.fixture
def local_storage_only(settings):
    """For tests that break the local folder itself (permissions, a directory in a file's place)."""
    if settings.STORAGES["default"]["BACKEND"] != LOCAL_STORAGE["BACKEND"]:
        pytest.skip("breaks the local folder; object storage failures: tests/core/test_object_storage.py")


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Failed sign-ins and wrong codes are counted in the cache per name and address; every test
    starts with none, as the test client always comes from the same address."""
    cache.clear()


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


@pytest.fixture
def speech_wav() -> bytes:
    return (AUDIO / "speech_with_silence.wav").read_bytes()


@pytest.fixture
def noise_wav() -> bytes:
    return (AUDIO / "noise_only.wav").read_bytes()


@pytest.fixture
def annotator(db) -> User:
    return make_user("ann-1", "annotator")


@pytest.fixture
def other_annotator(db) -> User:
    return make_user("ann-2", "annotator")


@pytest.fixture
def supervisor(db) -> User:
    return make_user("sup-1", "supervisor")


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


@pytest.fixture
def on_postgres():
    """For tests marked postgres_only: they must not pass vacuously on another database."""
    if connection.vendor != "postgresql":
        pytest.fail("This test needs PostgreSQL; run it through 'make test'.")
