"""Two nodes on one machine, as on two: each a gunicorn and a Celery worker with its own VAR_DIR and
no folder shared with the other, both on the same PostgreSQL, Redis and S3 server (a real server
process, spoken to over HTTP). A clip goes in through one node and is de-identified by the other's
worker, heard through the first, deleted through the second; a worker killed mid-clip loses nothing."""

from __future__ import annotations

import base64
import io
from datetime import timedelta

import boto3
import pytest
import requests
import soundfile as sf
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from labeling.intake.services import ingest_key_create
from labeling.models import Clip, ClipStatus
from tests.backing import S3_CREDENTIALS, S3_REGION, free_port, s3_server
from tests.factories import AUDIO, make_subject, make_user, stored_files
from tests.reliability import conftest as stacks
from tests.reliability.conftest import Stack, post_clip, status_of, wait_until

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

BUCKET = "voicereview-nodes"
PASSWORD = "correct horse battery"


@pytest.fixture
def s3():
    process, endpoint = s3_server(free_port(), BUCKET)
    yield endpoint
    process.terminate()
    process.wait(10)


def bucket_objects(endpoint: str) -> list[str]:
    client = boto3.client("s3", endpoint_url=endpoint, region_name=S3_REGION,
                          aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


@pytest.fixture
def nodes(transactional_db, tmp_path, redis_server, s3, request, settings):
    """Node A and node B. What they must share comes from the environment: the database, the
    broker, object storage and its credentials, and the secret, master and ledger keys."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # as the nodes check them
    shared = {
        "STORAGE_URL": f"s3://{BUCKET}/voices?endpoint={s3}&region={S3_REGION}", **S3_CREDENTIALS,
        "SECRET_KEY": settings.SECRET_KEY,
        "MASTER_KEY": base64.b64encode(settings.MASTER_KEY).decode(),
        "LEDGER_KEY": base64.b64encode(settings.LEDGER_KEY).decode(),
        "INSECURE_PLAIN_HTTP": "true",  # plain HTTP on 127.0.0.1
    }
    made = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        made.append(Stack(folder, stacks.test_database_url(), redis_server, VAR_DIR=str(folder / "var"), **shared))
    yield made
    for node in made:
        node.stop()
    if hasattr(request.node, "rep_call") and request.node.rep_call.failed:
        for node in made:
            print(node.log_text())


def signed_in(node: Stack, user, device: TOTPDevice | None = None) -> requests.Session:
    """A browser-like session signed in through the node's own pages (and authenticator code)."""
    session = requests.Session()
    session.get(f"{node.url}/login/", timeout=10)
    answer = session.post(f"{node.url}/login/", timeout=10, data={
        "csrfmiddlewaretoken": session.cookies["csrftoken"], "username": user.username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text[:500]
    if device is not None:
        code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
        answer = session.post(f"{node.url}/mfa/", timeout=10, data={
            "csrfmiddlewaretoken": session.cookies["csrftoken"], "code": f"{code:06d}"})
        assert answer.status_code == 200 and "/mfa/" not in answer.url, answer.text[:500]
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    return session


def test_a_clip_crosses_two_nodes_and_leaves_nothing_behind(nodes, s3):
    node_a, node_b = nodes
    subject = make_subject()
    annotator = make_user("ann-nodes", "annotator")
    authenticator = TOTPDevice.objects.create(user=annotator, name="phone", confirmed=True)
    key = ingest_key_create(name="two-node device")[1]
    node_a.start_web()
    node_b.start_web()
    node_b.start_worker()  # only node B de-identifies

    response = post_clip(node_a, key, (AUDIO / "speech_with_silence.wav").read_bytes())
    assert response.status_code == 202, response.text
    clip_id = response.json()["id"]
    wait_until(lambda: status_of(clip_id) == ClipStatus.QUEUED, timeout=180, what="node B's worker", step=0.5)
    assert bucket_objects(s3) == [f"voices/clips/{clip_id}/deid.bin"]
    assert "clip_process_task" in "".join(log.read_text() for log in node_b.logs)

    # Heard through node A.
    reviewer = signed_in(node_a, annotator, authenticator)
    assert reviewer.post(f"{node_a.url}/api/v1/shifts", timeout=10).status_code == 201
    claimed = reviewer.post(f"{node_a.url}/api/v1/assignments/next", timeout=10)
    assert claimed.status_code == 200, claimed.text
    audio = reviewer.get(f"{node_a.url}/api/v1/assignments/{claimed.json()['id']}/audio", timeout=30,
                         headers={"X-Audio-Token": claimed.json()["audio_token"]})
    assert audio.status_code == 200
    samples, rate = sf.read(io.BytesIO(audio.content))
    assert rate == 16000 and len(samples) > rate

    # Deleted by its owner through node B: nothing is left in the bucket.
    owner = signed_in(node_b, subject.user)
    deleted = owner.delete(f"{node_b.url}/api/v1/me/clips", timeout=30)
    assert deleted.status_code == 200, deleted.text
    assert bucket_objects(s3) == []
    assert Clip.objects.get(pk=clip_id).status == ClipStatus.DELETED

    # Node B's worker killed mid-clip: the clip waits, node A's worker finishes it, nothing is lost
    # or stored twice.
    response = post_clip(node_a, key, (AUDIO / "pii_name_number.wav").read_bytes())
    clip_id = response.json()["id"]
    wait_until(lambda: status_of(clip_id) == ClipStatus.PROCESSING, timeout=60, what="node B to start the clip")
    node_b.kill_worker()
    assert bucket_objects(s3) == [f"voices/clips/{clip_id}/raw.bin"]
    node_a.start_worker()
    # As if PROCESSING_STALE_SECONDS had passed since the dead worker took the clip.
    Clip.objects.filter(pk=clip_id).update(processing_started_at=timezone.now() - timedelta(hours=1))
    assert node_a.reconcile() == 1
    wait_until(lambda: status_of(clip_id) == ClipStatus.QUEUED, timeout=180, what="node A's worker", step=0.5)
    assert bucket_objects(s3) == [f"voices/clips/{clip_id}/deid.bin"]
    assert Clip.objects.get(pk=clip_id).attempts == 2

    # No node kept anything on its own disk.
    for node in nodes:
        assert stored_files(node.media) == [] and stored_files(node.folder / "var" / "media") == []
        node.assert_logs_hold_no_personal_data()
