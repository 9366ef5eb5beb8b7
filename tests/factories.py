"""Builders the tests share: people in each role, clips in each state, requests as the pages make
them, and the steps of review (label, ask, flag, resolve, make gold)."""

from __future__ import annotations

import io
import itertools
import json
import threading
import uuid
from datetime import timedelta
from pathlib import Path, PurePosixPath

import numpy as np
import soundfile as sf
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from consent.models import Account, PolicyVersion
from consent.services import account_create
from labeling import vault
from labeling.custody.services import policy_publish
from labeling.models import Clip, ClipStatus, GoldClip, Project, Team, TeamMember
from labeling.review.services import project_member_add
from portal.services import consent_set

AUDIO = Path(__file__).resolve().parent / "fixtures" / "audio"


DEMO_AUDIO = Path(__file__).resolve().parent.parent / "labeling" / "demo_audio"


def stored_files(root: Path) -> list[Path]:
    """Files under a local folder (a process's own MEDIA_ROOT in the fault tests)."""
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


class Store:
    """What the default storage holds, listed and read through the storage API, so a test reads
    the local folder and an S3 bucket alike."""

    def files(self, folder: str = "") -> list[PurePosixPath]:
        try:
            folders, files = default_storage.listdir(folder)
        except FileNotFoundError:  # the local folder before anything was written
            return []
        found = [PurePosixPath(folder, name) for name in files]
        for sub in folders:
            found += self.files(f"{folder}/{sub}" if folder else sub)
        return sorted(found)

    def exists(self, name: str) -> bool:
        return default_storage.exists(name)

    def read(self, name: str) -> bytes:
        with default_storage.open(name, "rb") as handle:
            return handle.read()

    def write(self, name: str, data: bytes) -> None:
        """Replace an object behind the application's back, as someone with storage access might."""
        default_storage.delete(name)
        default_storage.save(name, ContentFile(data))


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


def key_client(secret: str) -> APIClient:
    """A client sending a device platform's ingest key."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


_LINKED_ACCOUNTS = itertools.count()


def link_code_with(secret: str):
    """The lightest call a device platform makes with its key: a sign-up code, for a new account
    each time so that the per-account throttle never answers instead of the key check."""
    return key_client(secret).post("/api/v1/accounts/link-codes", {"account": f"acct-link-{next(_LINKED_ACCOUNTS)}"},
                                   format="json")


def make_subject(external_id: str = "acct-7731", first_name: str = "Marguerite", consent: bool = True) -> Account:
    user = make_user(f"owner-{external_id}")
    account = account_create(external_id=external_id, first_name=first_name, user=user)
    if consent:
        consent_set(account=account, granted=True, channel="portal")
    return account


def policy_published(version: str, *, material: bool, text: str = "") -> PolicyVersion:
    """A new version of the review policy, written as a draft and published as the admin does."""
    draft = PolicyVersion.objects.create(version=version, material=material,
                                         text=text or f"Version {version}: reviewers may also hear recordings "
                                                      "to check the quality of other reviewers' work.")
    return policy_publish(policy_id=draft.pk)


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
                project: Project | None = None, envelope: bool = True) -> Clip:
    """A clip as the pipeline leaves it: encrypted de-identified audio (a tone, or `samples` at
    16 kHz) and its envelope (none with envelope=False, as clips de-identified before envelopes were
    stored), status queued. Tests of claiming and serving use it to skip the pipeline's audio work.
    """
    clip_id = uuid.uuid4()
    key, wrapped = vault.new_data_key(clip_id)
    if samples is None:
        samples = (0.2 * np.sin(2 * np.pi * 220 * np.arange(int(16000 * seconds)) / 16000)).astype(np.float32)
    seconds = len(samples) / 16000
    wav = encode(samples, 16000, "WAV", subtype="PCM_16")
    path = vault.store_audio(clip_id, key, "deid", wav)
    now = timezone.now()
    return Clip.objects.create(
        id=clip_id, account=account, project=project or Project.objects.get(slug=settings.DEFAULT_PROJECT),
        device_serial="SN-Q9X4-77821", recorded_at=now - timedelta(hours=1),
        wake_word_score=0.9, locale="en-US", status=ClipStatus.QUEUED, wrapped_key=wrapped, deid_path=path,
        envelope=vault.seal_envelope(clip_id, key, wav) if envelope else None, duration_seconds=seconds,
        queued_at=queued_at or now,
    )


def label(client, text="turn on the porch light"):
    assignment = claim(client)
    response = client.post(f"/api/v1/assignments/{assignment['id']}/submit", {"text": text}, format="json")
    assert response.status_code == 200, response.content
    return assignment


def make_gold(supervisor, reference="turn on the porch light"):
    client = client_for(supervisor)
    review = client.post("/api/v1/projects/default/quality-reviews")
    assert review.status_code == 201, review.content
    body = review.json()
    heard = fetch_audio(client, {"id": body["assignment"], "audio_token": body["audio_token"]})
    assert heard.status_code == 200
    marked = client.post(f"/api/v1/quality-reviews/{body['assignment']}/gold", {"reference_text": reference},
                         format="json")
    assert marked.status_code == 201, marked.content
    return body, GoldClip.objects.get(pk=marked.json()["gold"])


def flag(client, assignment, category="danger", **extra):
    return client.post(f"/api/v1/assignments/{assignment['id']}/escalate", {"category": category, **extra},
                       format="json")


def flagged(annotator, subject, category="danger", seconds=1.0):
    """An annotator claims a clip, hears it and flags it; returns (escalation id, clip)."""
    clip = queued_clip(subject, seconds=seconds)
    client = client_for(annotator)
    assignment = claim(client)
    assert fetch_audio(client, assignment).status_code == 200
    response = flag(client, assignment, category, note="a scream, then silence", text="help me please")
    assert response.status_code == 201, response.content
    return response.json()["escalation"], clip


def resolve(supervisor, escalation_id, **body):
    client = client_for(supervisor)
    client.post(f"/api/v1/escalations/{escalation_id}/claim")
    return client.post(f"/api/v1/escalations/{escalation_id}/resolve", body, format="json")


def ask(client, assignment, start=0.5, end=1.5, text="turn on the porch light"):
    return client.post(f"/api/v1/assignments/{assignment['id']}/second-opinion",
                       {"start_seconds": start, "end_seconds": end, "text": text}, format="json")


def team_of(user, **rules):
    values = {"max_shift_minutes": 480, "max_clips_per_shift": 400, "break_after_minutes": 120, "break_minutes": 10,
              "min_claim_interval_seconds": 0} | rules
    team = Team.objects.create(name=f"team-{user.pk}", **values)
    TeamMember.objects.create(team=team, user=user)
    return team


def every_value_in_the_database():
    """Each value of each row of each table, as text (bytes as they are)."""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview):
                        value = value.tobytes()
                    yield table, value if isinstance(value, bytes) else json.dumps(value, default=str)


def in_threads(work, count: int) -> None:
    """Run work(0) … work(count - 1) at once, each in a thread of its own, and wait for all."""
    threads = [threading.Thread(target=work, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
