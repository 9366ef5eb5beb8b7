"""A leaked copy of a served clip, re-encoded and cut, names the assignment, reviewer and shift it
was served to; a copy nobody was served names no one."""

import io

import numpy as np
import pytest
import soundfile as sf

from consent.models import LedgerEntry
from labeling.models import Assignment
from tests.factories import DEMO_AUDIO, client_for, fetch_audio, queued_clip

pytestmark = pytest.mark.django_db


def speech(name="lights.wav"):
    return sf.read(DEMO_AUDIO / name, dtype="float32")[0]


def served_copy(user) -> tuple[dict, np.ndarray]:
    client = client_for(user)
    client.post("/api/v1/shifts")
    assignment = client.post("/api/v1/assignments/next").json()
    response = fetch_audio(client, assignment)
    assert response.status_code == 200
    return assignment, sf.read(io.BytesIO(response.content), dtype="float32")[0]


def as_mp3(samples) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, 16000, format="MP3", bitrate_mode="CONSTANT", compression_level=0.6)
    return buffer.getvalue()


def trace(supervisor, data: bytes, name="leak.mp3"):
    upload = io.BytesIO(data)
    upload.name = name
    return client_for(supervisor).post("/api/v1/leaks/trace", {"audio": upload}, format="multipart")


def test_a_leaked_mp3_names_its_assignment_reviewer_and_shift(annotator, supervisor, subject):
    queued_clip(subject, samples=speech())
    queued_clip(subject, samples=speech("weather.wav"))  # served to nobody: compared, not named
    assignment, copy = served_copy(annotator)
    response = trace(supervisor, as_mp3(copy[16000:]))  # re-encoded and its first second cut
    assert response.status_code == 200, response.content
    body = response.json()
    served = Assignment.objects.get(pk=assignment["id"])
    assert body["found"] is True and body["assignment"] == assignment["id"]
    assert body["reviewer"] == "ann-1" and body["shift"] == served.shift_id and body["score"] >= 8
    assert body["offset_seconds"] == pytest.approx(1.0, abs=0.02)
    entry = LedgerEntry.objects.filter(action=LedgerEntry.Action.LEAK_TRACE).get()
    assert entry.actor_id == supervisor.pk and str(entry.assignment_id) == assignment["id"]


def test_the_trace_tells_apart_two_reviewers_who_heard_the_same_clip(annotator, other_annotator, supervisor,
                                                                     subject):
    queued_clip(subject, samples=speech())
    first, first_copy = served_copy(annotator)
    client_for(annotator).post(f"/api/v1/assignments/{first['id']}/skip")
    second, second_copy = served_copy(other_annotator)
    assert Assignment.objects.get(pk=first["id"]).clip_id == Assignment.objects.get(pk=second["id"]).clip_id
    assert trace(supervisor, as_mp3(second_copy)).json()["assignment"] == second["id"]
    assert trace(supervisor, as_mp3(first_copy)).json()["assignment"] == first["id"]


def test_a_copy_a_supervisor_heard_in_an_escalation_names_the_supervisor(annotator, supervisor, subject):
    queued_clip(subject, samples=speech())
    flagged, _ = served_copy(annotator)
    client_for(annotator).post(f"/api/v1/assignments/{flagged['id']}/escalate", {"category": "distressing"},
                               format="json")
    desk = client_for(supervisor)
    escalation = desk.get("/api/v1/escalations").json()[0]["id"]
    desk.post(f"/api/v1/escalations/{escalation}/claim")
    listening = desk.post(f"/api/v1/escalations/{escalation}/listen").json()
    heard = fetch_audio(desk, {"id": listening["assignment"], "audio_token": listening["audio_token"]})
    body = trace(supervisor, as_mp3(sf.read(io.BytesIO(heard.content), dtype="float32")[0])).json()
    assert body["assignment"] == listening["assignment"] and body["reviewer"] == "sup-1"
    assert body["shift"] is None and body["message"] == "Served to sup-1 for escalation review."


def test_an_unmarked_copy_or_another_recording_names_no_one(annotator, supervisor, subject):
    clean = speech()
    queued_clip(subject, samples=clean)
    served_copy(annotator)
    for data in (as_mp3(clean), as_mp3(speech("shopping.wav"))):
        body = trace(supervisor, data).json()
        assert body["found"] is False and body["assignment"] is None and body["reviewer"] is None
        assert body["message"].startswith("No mark found")


def test_bad_uploads_get_a_clear_error(supervisor):
    bad = trace(supervisor, b"not audio at all" * 10, "x.wav")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "unsupported_audio"
    missing = client_for(supervisor).post("/api/v1/leaks/trace", {}, format="multipart")
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "missing_audio"
