"""Object storage through the S3 API: a real S3-compatible server process on 127.0.0.1 (moto in
server mode), reached over HTTP as AWS S3, MinIO or Ceph would be. What the bucket holds is read
with a client of its own, never through the application; an outage is the server process gone."""

import io
import re
import socket
import threading
import time
import zipfile

import boto3
import pytest
from django.test import Client

from labeling import vault
from labeling.exports.services import export_build
from labeling.intake.services import clip_process, clips_reconcile
from labeling.models import STORAGE_HOLD, BlobDeletion, Clip, ClipStatus
from tests.backing import S3_CREDENTIALS, S3_REGION, free_port, s3_server
from tests.factories import AUDIO, claim, client_for, fetch_audio, make_subject, metadata, upload

pytestmark = pytest.mark.django_db

BUCKET = "voicereview-own"
REQUEST_LINE = re.compile(rb"(GET|HEAD|PUT|POST|DELETE) /")


class Gate:
    """A TCP relay in front of the S3 server: closing it makes storage unreachable (connections
    refused, as when the storage network fails) while the server keeps what it holds."""

    def __init__(self, target_port: int):
        self.port, self.target = free_port(), target_port
        self.listener = None
        self.requests: list[str] = []  # the request line of each request that passed (method and path)
        self.open()

    def open(self):
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def close(self):
        self.listener.close()

    def _accept(self, listener):
        while True:
            try:
                inbound, _ = listener.accept()
            except OSError:
                return
            outbound = socket.create_connection(("127.0.0.1", self.target))
            for a, b, seen in ((inbound, outbound, self.requests), (outbound, inbound, None)):
                threading.Thread(target=self._pipe, args=(a, b, listener, seen), daemon=True).start()

    @staticmethod
    def _pipe(source, sink, listener, seen):
        try:
            while data := source.recv(65536):
                if listener.fileno() == -1:  # the gate closed: cut connections still open
                    break
                if seen is not None and REQUEST_LINE.match(data):
                    seen.append(data.split(b"\r\n", 1)[0].decode())
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class S3:
    """An S3 server process of this test's own, reached by the application through a Gate."""

    def __init__(self):
        self.process, self.direct = s3_server(free_port(), BUCKET)
        self.gate = Gate(int(self.direct.rsplit(":", 1)[1]))
        self.endpoint = f"http://127.0.0.1:{self.gate.port}"

    def stop(self):
        self.gate.close()
        self.process.terminate()
        self.process.wait(10)

    def objects(self) -> dict[str, bytes]:
        client = boto3.client("s3", endpoint_url=self.direct, region_name=S3_REGION,
                              aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                              aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
        listed = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
        return {item["Key"]: client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read() for item in listed}


@pytest.fixture
def s3(settings, monkeypatch):
    for name, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    server = S3()
    settings.STORAGE_URL = f"s3://{BUCKET}/node?endpoint={server.endpoint}&region={S3_REGION}"
    from config.env import storage_from_url

    settings.STORAGES = {**settings.STORAGES, "default": storage_from_url(settings.STORAGE_URL)}
    yield server
    server.stop()


def test_clips_audio_and_exports_live_in_the_bucket_encrypted_and_leave_it_on_deletion(
        s3, device_client, annotator, supervisor, django_capture_on_commit_callbacks):
    subject = make_subject()
    wav = (AUDIO / "speech_with_silence.wav").read_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(device_client, wav, metadata())
    clip = Clip.objects.get(pk=response.json()["id"])
    assert list(s3.objects()) == [f"node/clips/{clip.id}/raw.bin"]
    assert clip_process(clip_id=clip.id) == ClipStatus.QUEUED
    stored = s3.objects()
    assert list(stored) == [f"node/clips/{clip.id}/deid.bin"]  # the original is gone from the bucket
    assert b"RIFF" not in stored[f"node/clips/{clip.id}/deid.bin"] and wav[2000:2100] not in b"".join(stored.values())

    client = client_for(annotator)
    assignment = claim(client)
    heard = fetch_audio(client, assignment)
    assert heard.status_code == 200 and heard.content[:4] == b"RIFF"
    assert client.post(f"/api/v1/assignments/{assignment['id']}/submit", {"text": "lights off"},
                       format="json").status_code == 200
    export = client_for(supervisor).post("/api/v1/projects/default/exports", {}, format="json").json()
    assert export_build(export_id=export["id"]) == "done"
    sealed = s3.objects()[f"node/exports/{export['id']}.sealed"]
    assert not zipfile.is_zipfile(io.BytesIO(sealed)) and b"lights off" not in sealed
    download = client_for(supervisor).get(f"/api/v1/exports/{export['id']}/download")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert b"lights off" in archive.read("data.jsonl")

    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(subject.user, verified=False).delete("/api/v1/me/clips").status_code == 200
    assert s3.objects() == {}


def test_an_outage_loses_nothing_holds_clips_and_they_resume_when_storage_is_back(
        s3, device_client, django_capture_on_commit_callbacks):
    make_subject()
    wav = (AUDIO / "speech_with_silence.wav").read_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        kept = Clip.objects.get(pk=upload(device_client, wav, metadata()).json()["id"])
    s3.gate.close()

    # Ingest refuses at once, keeps no row, and tells the device to send it again later.
    started = time.monotonic()
    refused = upload(device_client, wav, metadata())
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "storage_unavailable"
    assert refused["Retry-After"] and time.monotonic() - started < 15
    assert Clip.objects.count() == 1
    # Readiness names storage.
    ready = Client().get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["storage"].startswith("unavailable")
    # The pipeline cannot read the original: the clip waits, its key kept, rather than being retried
    # until it is given up.
    assert clip_process(clip_id=kept.id) == ClipStatus.HELD
    kept.refresh_from_db()
    assert kept.status_reason.startswith(STORAGE_HOLD) and kept.wrapped_key is not None and kept.raw_path
    assert clips_reconcile() == 0  # storage still down: it stays held

    s3.gate.open()  # storage is back
    assert Client().get("/readyz").json()["checks"]["storage"] == "ok"
    with django_capture_on_commit_callbacks(execute=True):
        assert clips_reconcile() == 1
    assert clip_process(clip_id=kept.id) == ClipStatus.QUEUED
    assert list(s3.objects()) == [f"node/clips/{kept.id}/deid.bin"]


def test_a_deletion_while_storage_is_down_answers_and_the_objects_go_when_it_is_back(
        s3, device_client, django_capture_on_commit_callbacks):
    subject = make_subject()
    with django_capture_on_commit_callbacks(execute=True):
        clip_id = upload(device_client, (AUDIO / "speech_with_silence.wav").read_bytes(), metadata()).json()["id"]
    assert clip_process(clip_id=clip_id) == ClipStatus.QUEUED
    s3.gate.close()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(subject.user, verified=False).delete("/api/v1/me/clips")
    assert response.status_code == 200 and Clip.objects.get(pk=clip_id).wrapped_key is None
    assert list(s3.objects()) == [f"node/clips/{clip_id}/deid.bin"]  # unreadable: its key is gone
    assert list(BlobDeletion.objects.values_list("name", flat=True)) == [f"clips/{clip_id}/deid.bin"]
    assert vault.blobs_delete_pending() == 0  # still down: it waits
    s3.gate.open()
    assert vault.blobs_delete_pending() == 1
    assert s3.objects() == {} and not BlobDeletion.objects.exists()


def test_hearing_a_clip_reads_its_object_in_one_request(s3, tmp_path):
    """One GET per object read: not a HEAD, then a HEAD and a GET through a transfer manager."""
    stored = {"small": b"sealed audio " * 100, "large": bytes(range(256)) * 40_000}  # 10 MB: past the spool
    for name, content in stored.items():
        vault.put_blob(f"probe/{name}.bin", content)
    for name, content in stored.items():
        s3.gate.requests.clear()
        assert vault.read_blob(f"probe/{name}.bin") == content
        assert s3.gate.requests == [f"GET /{BUCKET}/node/probe/{name}.bin HTTP/1.1"]
    handle = vault.open_blob("probe/large.bin")  # as an export is streamed: in parts
    with handle:
        parts = iter(lambda: handle.read(65_536), b"")
        assert b"".join(parts) == stored["large"]

    s3.gate.requests.clear()
    with pytest.raises(FileNotFoundError):
        vault.read_blob("probe/never-stored.bin")
    assert len(s3.gate.requests) == 1
