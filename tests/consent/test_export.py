"""The data subject's export holds everything about them and nothing about anyone else."""

import io
import json
import zipfile

import pytest
import soundfile as sf

from consent.models import LedgerEntry
from tests.factories import claim, client_for, fetch_audio, make_subject, queued_clip

pytestmark = pytest.mark.django_db


def export_of(account) -> tuple[dict, zipfile.ZipFile]:
    response = client_for(account.user, verified=False).get("/api/v1/me/export")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "no-store" in response["Cache-Control"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    return json.loads(archive.read("export.json")), archive


def test_the_export_holds_consent_clips_transcripts_audio_and_the_ledger(subject, annotator):
    heard = queued_clip(subject, seconds=1.5)
    waiting = queued_clip(subject, seconds=0.5)
    client = client_for(annotator)
    assignment = claim(client)
    fetch_audio(client, assignment)
    client.post(f"/api/v1/assignments/{assignment['id']}/submit", {"text": "call the plumber"}, format="json")

    body, archive = export_of(subject)
    assert body["account"]["external_id"] == "acct-7731" and body["account"]["first_name"] == "Marguerite"
    assert [c["granted"] for c in body["consent"]] == [True]
    clips = {c["id"]: c for c in body["clips"]}
    assert set(clips) == {str(heard.id), str(waiting.id)}
    assert clips[str(heard.id)]["state"] == "labeled"
    assert clips[str(heard.id)]["transcripts"][0]["text"] == "call the plumber"
    assert clips[str(heard.id)]["device_serial"] == "SN-Q9X4-77821"
    samples, rate = sf.read(io.BytesIO(archive.read(clips[str(heard.id)]["audio"])))
    assert rate == 16000 and len(samples) == 24000
    heard_lines = [line for line in body["ledger"] if line["clip"] == str(heard.id)]
    assert {line["what"] for line in heard_lines} >= {"clip_claim", "audio_stream", "transcript_submit"}
    assert {line["reviewer"] for line in heard_lines} == {heard_lines[0]["reviewer"]}
    assert heard_lines[0]["reviewer"].startswith("Reviewer ")
    assert LedgerEntry.objects.get(action="export").detail == {"by": "owner", "clips": 2, "audio_files": 2}


def test_the_export_holds_nothing_of_anyone_else(subject, annotator):
    other = make_subject("acct-other", first_name="Ezra")
    theirs = queued_clip(other)
    mine = queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)  # the oldest: theirs
    client.post(f"/api/v1/assignments/{assignment['id']}/submit", {"text": "ezra's secret"}, format="json")

    body, archive = export_of(subject)
    text = json.dumps(body)
    for foreign in ("acct-other", "Ezra", "ezra's secret", str(theirs.id), str(other.id), "ann-1"):
        assert foreign not in text
    assert archive.namelist() == ["audio/" + str(mine.id) + ".wav", "export.json"]
