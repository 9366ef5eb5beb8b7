"""Operations: health and readiness, Prometheus metrics, and logs that hold no personal data."""

from __future__ import annotations

import hmac
import io
import logging
import re
import zipfile

import pytest
from django.db import connection
from django.test import Client

from config.env import database_from_url
from config.observability import JsonFormatter
from labeling.intake.services import clip_hold, clip_process
from labeling.models import Clip, ClipStatus
from tests.factories import AUDIO, claim, client_for, fetch_audio, metadata, queued_clip, upload

pytestmark = pytest.mark.django_db


def metric_value(text: str, name: str, **labels) -> float:
    """The value of one sample in Prometheus text format; 0 when it is absent."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        sample, _, value = line.rpartition(" ")
        if sample.split("{", 1)[0] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', sample))
        if all(found.get(key) == str(val) for key, val in labels.items()):
            return float(value)
    return 0.0


def scrape() -> str:
    response = Client().get("/metrics")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def test_liveness_and_readiness_answer_with_every_dependency_checked():
    assert Client().get("/healthz").json() == {"status": "ok"}
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok", "storage": "ok"}}


def test_readiness_fails_and_names_storage_that_cannot_be_written(settings, tmp_path, local_storage_only):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the storage folder should be")
    settings.MEDIA_ROOT = str(blocker / "media")
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["checks"]["storage"].startswith("unavailable")
    assert body["checks"]["database"] == "ok"


def test_metrics_count_requests_by_route_pattern_and_report_clips_per_state(subject, annotator):
    before = scrape()
    route = "/api/v1/assignments/<uuid:assignment_id>/audio"
    served_before = metric_value(before, "voicereview_http_requests_total", method="GET", route=route, status=200)
    queued_clip(subject)
    queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    assert fetch_audio(client, assignment).status_code == 200
    assert fetch_audio(client, assignment, token="wrong").status_code == 403
    held = queued_clip(subject)
    Clip.objects.filter(pk=held.pk).update(status=ClipStatus.PROCESSING)
    clip_hold(clip_id=held.pk, reason="decode_failed: corrupt_audio")

    after = scrape()
    assert metric_value(after, "voicereview_http_requests_total", method="GET", route=route,
                        status=200) == served_before + 1
    assert metric_value(after, "voicereview_http_requests_total", method="GET", route=route, status=403) >= 1
    assert metric_value(after, "voicereview_http_request_duration_seconds_count", method="GET", route=route) >= 2
    assert assignment["id"] not in after  # ids never become labels
    assert metric_value(after, "voicereview_clips", state="queued") == 1
    assert metric_value(after, "voicereview_clips", state="assigned") == 1
    assert metric_value(after, "voicereview_clips_held", reason="decode_failed") == 1


def test_metrics_are_refused_to_other_machines_without_the_token(settings):
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics").status_code == 403
    settings.METRICS_TOKEN = "scrape-secret"
    assert Client().get("/metrics").status_code == 403  # with a token set, even this machine needs it
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret"
                                                 ).status_code == 200


@pytest.mark.parametrize("header", ["HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_FORWARDED"])
def test_a_proxy_on_this_machine_does_not_make_a_request_local(header):
    """Behind a reverse proxy every request arrives from 127.0.0.1: the proxy's headers say it came
    from elsewhere, and without the token it is refused."""
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200
    forwarded = Client(REMOTE_ADDR="127.0.0.1", **{header: "203.0.113.9"}).get("/metrics")
    assert forwarded.status_code == 403


def test_the_metrics_token_is_compared_in_constant_time(settings, monkeypatch):
    from config import observability

    compared, original = [], hmac.compare_digest

    def compare(a, b):
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(observability.hmac, "compare_digest", compare)
    settings.METRICS_TOKEN = "scrape-secret"
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secreT").status_code == 403
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret").status_code == 200
    assert compared == [(b"Bearer scrape-secreT", b"Bearer scrape-secret"), (b"Bearer scrape-secret",) * 2]


@pytest.fixture
def captured_logs():
    """Everything logged while the test runs, formatted as the product writes it, with the root
    logger at DEBUG (the most a deployment can ask for with LOG_LEVEL)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


def test_logs_of_a_whole_run_hold_no_personal_data(device_client, subject, annotator, captured_logs, settings):
    """A clip with a spoken name and number goes from the device through de-identification to an
    annotator, who hears and transcribes it; its owner exports, then withdraws. The log lines are
    structured, and none carries the owner's account, name, device serial, recording time, spoken
    personal data or what the annotator typed."""
    settings.REVOCATION_DELETES = True
    meta = metadata(account=subject.external_id)
    response = upload(device_client, (AUDIO / "pii_name_number.wav").read_bytes(), meta)
    assert response.status_code == 202, response.content
    clip_id = response.json()["id"]
    assert clip_process(clip_id=clip_id) == ClipStatus.QUEUED
    client = client_for(annotator)
    assignment = claim(client)
    assert fetch_audio(client, assignment).status_code == 200
    typed = "hi my name is [NAME] call me on [NUMBER] zebra quartet"
    assert client.post(f"/api/v1/assignments/{assignment['id']}/submit", {"text": typed},
                       format="json").status_code == 200
    owner = client_for(subject.user, verified=False)
    export = owner.get("/api/v1/me/export")
    assert export.status_code == 200
    assert owner.put("/api/v1/me/consent", {"human_review": False}, format="json").status_code == 200

    logs = captured_logs.getvalue()
    lines = [line for line in logs.splitlines() if line.strip()]
    assert len(lines) >= 8
    assert '"event": "http_request"' in logs and '"route": "/api/v1/clips"' in logs
    export_bytes = b"".join(export.streaming_content) if export.streaming else export.content
    export_json = zipfile.ZipFile(io.BytesIO(export_bytes)).read("export.json").decode()
    secrets_of_the_run = [subject.external_id, meta["first_name"], meta["device_serial"], meta["recorded_at"][:19],
                          "Jonathan", "Baker", "zebra quartet", subject.user.username]
    # The scan would see them: they are in what the owner downloaded.
    assert meta["device_serial"] in export_json and subject.external_id in export_json
    for secret in secrets_of_the_run:
        assert secret.lower() not in logs.lower(), secret


@pytest.mark.postgres_only
@pytest.mark.django_db
def test_postgresql_connections_never_jit_compile_the_claim(on_postgres):
    """The claim statement's estimated cost crosses PostgreSQL's JIT thresholds; compiled on every
    claim it made the editor's calls take seconds. The application's connections run without JIT."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
    assert database_from_url("postgres://db.internal/voices")["OPTIONS"]["options"] == "-c jit=off"
    own = database_from_url("postgres://db.internal/voices?options=-c%20statement_timeout%3D5000")
    assert own["OPTIONS"]["options"] == "-c statement_timeout=5000"
