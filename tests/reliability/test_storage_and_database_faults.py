"""Faults under the stack: storage that is full or read-only, PostgreSQL restarted. Clips are held
with a reason or refused with a clear answer, never lost; the service recovers by itself."""

from __future__ import annotations

import os
import subprocess

import pytest
import requests

from labeling.models import STORAGE_HOLD, Clip, ClipStatus
from tests.backing import Throwaway
from tests.factories import AUDIO, stored_files
from tests.reliability.conftest import RedisServer, Stack, post_clip, status_of, wait_until

# Transactional: the stack's processes read what the test commits; serialized rollback keeps the
# rows the migrations made (role groups, the default project) for the tests after these.
pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def fill(folder) -> None:
    """Write into the folder until its file system has no byte left."""
    with open(folder / "filler", "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass


@pytest.fixture
def small_disk(stack):
    """The stack's storage folder on a file system of 2 MB of its own (a tmpfs; needs root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system for the storage folder needs root (CI runs as root)")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(stack.media)], check=True)
    yield stack.media
    stack.stop()
    subprocess.run(["umount", "-l", str(stack.media)], check=False)


def test_storage_full_holds_the_clip_with_its_reason_and_it_finishes_when_space_returns(stack, small_disk, device):
    speech = (AUDIO / "speech_with_silence.wav").read_bytes()
    response = post_clip(stack, device, speech)
    assert response.status_code == 202, response.text
    clip_id = response.json()["id"]
    fill(small_disk)

    refused = post_clip(stack, device, speech)
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert refused.json()["error"]["code"] == "storage_unavailable"
    assert "not kept" in refused.json()["error"]["message"]
    assert Clip.objects.count() == 1  # the refused recording left no row and no file behind
    assert sorted(p.name for p in stored_files(small_disk)) == ["filler", "raw.bin"]
    ready = requests.get(f"{stack.url}/readyz", timeout=10)
    assert ready.status_code == 503 and ready.json()["checks"]["storage"].startswith("unavailable")

    stack.start_worker()
    wait_until(lambda: status_of(clip_id) == ClipStatus.HELD, timeout=120, what="the clip to be held", step=0.5)
    clip = Clip.objects.get(pk=clip_id)
    assert clip.status_reason.startswith(f"{STORAGE_HOLD}: No space left on device")
    assert clip.wrapped_key is not None and (small_disk / clip.raw_path).exists()  # the original is kept
    assert not any(p.name == "deid.bin" for p in stored_files(small_disk))
    assert stack.reconcile() == 0  # still full: stays held

    (small_disk / "filler").unlink()
    assert stack.reconcile() == 1
    wait_until(lambda: status_of(clip_id) == ClipStatus.QUEUED, timeout=120, what="the clip to be finished",
               step=0.5)
    assert [p.name for p in stored_files(small_disk)] == ["deid.bin"]
    assert requests.get(f"{stack.url}/readyz", timeout=10).status_code == 200


def test_read_only_storage_refuses_uploads_plainly_and_keeps_nothing(stack, small_disk, device):
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    response = post_clip(stack, device, (AUDIO / "speech_with_silence.wav").read_bytes())
    assert response.status_code == 503 and response.json()["error"]["code"] == "storage_unavailable"
    assert Clip.objects.count() == 0
    subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    assert post_clip(stack, device, (AUDIO / "speech_with_silence.wav").read_bytes()).status_code == 202


SET_UP_OWNER_AND_DEVICE = """
from django.contrib.auth.models import User
from consent.services import account_create
from portal.services import consent_set
from labeling.intake.services import ingest_key_create
user = User.objects.create_user("owner-acct-7731", password="correct horse battery")
account = account_create(external_id="acct-7731", first_name="Marguerite", user=user)
consent_set(account=account, granted=True, channel="portal")
print(ingest_key_create(name="restart test device")[1])
"""


def test_postgres_restart_answers_503_plainly_and_recovers_by_itself(tmp_path):
    services = Throwaway()
    redis = RedisServer()
    stack = None
    try:
        database_url = services.postgres()
        redis.start()
        stack = Stack(tmp_path, database_url, redis)
        stack.manage("migrate", "--noinput", timeout=300)
        key = stack.manage("shell", "-c", SET_UP_OWNER_AND_DEVICE).strip().splitlines()[-1]
        stack.start_web()
        speech = (AUDIO / "speech_with_silence.wav").read_bytes()
        assert post_clip(stack, key, speech).status_code == 202
        browser = requests.Session()
        assert browser.get(f"{stack.url}/login/", timeout=10).status_code == 200

        services.postgres_stop()
        response = post_clip(stack, key, speech)
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "database_unavailable"
        assert "cannot reach its database" in response.json()["error"]["message"]
        assert response.headers["Retry-After"] == "10" and response.headers["Cache-Control"] == "no-store"
        ready = requests.get(f"{stack.url}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["checks"]["database"].startswith("unavailable")
        page = browser.post(f"{stack.url}/login/", timeout=10, headers={"Referer": f"{stack.url}/login/"},
                            data={"username": "owner-acct-7731", "password": "correct horse battery",
                                  "csrfmiddlewaretoken": browser.cookies["csrftoken"]})
        assert page.status_code == 503 and "cannot reach its database" in page.text
        assert "Traceback" not in page.text and "Content-Security-Policy" in page.headers
        assert requests.get(f"{stack.url}/healthz", timeout=10).status_code == 200  # the process itself lives

        services.postgres_start()
        wait_until(lambda: post_clip(stack, key, speech).status_code == 202, timeout=30,
                   what="the API to recover", step=0.5)
        assert requests.get(f"{stack.url}/readyz", timeout=10).status_code == 200
        metrics = requests.get(f"{stack.url}/metrics", timeout=10).text
        assert "voicereview_database_unavailable_total" in metrics
    finally:
        if stack is not None:
            stack.stop()
        redis.stop()
        services.close()

