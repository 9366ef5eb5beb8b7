"""Project exports: a worker writes JSON Lines, a NeMo manifest, a Hugging Face audio folder and
WebVTT of settled, de-identified clips; withdrawn, deleted, unsettled and still personal texts stay
out; every clip exported is in its owner's ledger; deleting a clip removes the exports holding it."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
import soundfile as sf
from django.utils import timezone

from consent.models import LedgerEntry
from consent.selectors import reviewer_pseudonym
from labeling import vault
from labeling.custody.retention import retention_run
from labeling.custody.services import clips_delete
from labeling.exports.services import export_build, exports_expire_old
from labeling.models import Clip, ExportJob, LegalHold, Project
from tests.factories import claim, client_for, make_gold, make_subject, queued_clip

pytestmark = pytest.mark.django_db


def label_next(client, text, **labels):
    assignment = claim(client)
    response = client.post(f"/api/v1/assignments/{assignment['id']}/submit", {"text": text, **labels}, format="json")
    assert response.status_code == 200, response.content
    return assignment


@pytest.fixture
def project():
    project = Project.objects.get(slug="default")
    project.intents, project.entity_types, project.sample_rate = ["play_music"], ["song"], 8000
    project.save()
    return project


@pytest.fixture
def world(project, annotator, other_annotator, supervisor, subject):
    """Labeled clips of every kind an export must tell apart."""
    writer, other = client_for(annotator), client_for(other_annotator)
    clips = {"gold": queued_clip(subject)}
    label_next(writer, "lights of")
    make_gold(supervisor, reference="lights off")  # the only labeled clip so far
    clips["plain"] = queued_clip(subject, seconds=1.5)
    label_next(writer, "play yellow", intent="play_music", entities=[{"start": 5, "end": 11, "type": "song"}])
    second = make_subject("acct-second", "Marguerite")  # one annotator hears at most 3 clips of one owner
    clips["personal"] = queued_clip(second)
    label_next(writer, "call sarah connor on her mobile")
    clips["unsettled"] = queued_clip(second)
    project.agreement_share = 1.0
    project.save()
    label_next(writer, "what is the weather")  # sampled; the second reading is not in
    project.agreement_share = 0.0
    project.save()
    leaving = make_subject("acct-leaving", "Ottoline")
    clips["deleted"] = queued_clip(leaving)
    label_next(other, "good night")
    clips_delete(account=leaving)
    clips["queued"] = queued_clip(subject)
    return clips


def build(supervisor, **body):
    client = client_for(supervisor)
    response = client.post("/api/v1/projects/default/exports", body, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "queued"
    export_id = response.json()["id"]
    assert export_build(export_id=export_id) == "done"
    return client, export_id


def test_an_export_holds_settled_de_identified_clips_in_every_format(world, supervisor, subject, tmp_path):
    client, export_id = build(supervisor)
    status = client.get(f"/api/v1/exports/{export_id}").json()
    assert status["state"] == "done" and status["total"] == status["done"] == 4
    assert status["left_out"] == {"personal_data_in_text": 1, "awaiting_second_reading": 1}
    download = client.get(f"/api/v1/exports/{export_id}/download")
    assert download.status_code == 200 and download["Cache-Control"] == "no-store, private"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    names = set(archive.namelist())
    data = [json.loads(line) for line in archive.read("data.jsonl").decode().splitlines()]
    assert status["exported"] == len(data) == 2
    by_text = {row["text"]: row for row in data}
    assert "play yellow" in by_text and "lights off" in by_text  # the gold reference, not "lights of"
    plain = by_text["play yellow"]
    assert plain["intent"] == "play_music" and plain["entities"] == [{"start": 5, "end": 11, "type": "song"}]
    assert plain["source"] == "transcription" and by_text["lights off"]["source"] == "gold"
    assert {row["audio"] for row in data} | {"data.jsonl", "manifest.json", "metadata.jsonl", "README.txt"} | {
        f"vtt/{row['id']}.vtt" for row in data} == names
    audio, rate = sf.read(io.BytesIO(archive.read(plain["audio"])))
    assert rate == 8000 and abs(len(audio) / rate - 1.5) < 0.01 and plain["duration"] == pytest.approx(1.5, abs=0.01)
    manifest = [json.loads(line) for line in archive.read("manifest.json").decode().splitlines()]
    assert {(m["audio_filepath"], m["text"]) for m in manifest} == {(row["audio"], row["text"]) for row in data}
    vtt = archive.read(f"vtt/{plain['id']}.vtt").decode()
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nplay yellow")

    # Nothing in it names a clip, an owner or a device.
    everything = b"".join(archive.read(name) for name in names)
    for clip in Clip.objects.all():
        assert str(clip.id).encode() not in everything and clip.id.hex.encode() not in everything
    for identifier in (subject.external_id, subject.first_name, "SN-Q9X4-77821", "Ottoline", "good night",
                       "sarah", "what is the weather"):
        assert identifier.encode() not in everything

    # The owner sees the export in their ledger, clip by clip: written, then taken out by whom.
    exported = LedgerEntry.objects.filter(action="export", detail__export=export_id, clip_id__isnull=False)
    assert {entry.clip_id for entry in exported} == {world["plain"].id, world["gold"].id}
    ledger = client_for(subject.user, verified=False).get("/api/v1/me/ledger").json()
    exports = [entry for entry in ledger["entries"] if entry["what"] == "export"]
    assert sorted(entry["purpose"] for entry in exports) == ["training_export"] * 2 + ["training_export_download"] * 2
    assert {entry["reviewer"] for entry in exports if entry["purpose"] == "training_export_download"} == {
        reviewer_pseudonym(supervisor.pk)}


def test_the_export_loads_with_the_datasets_library(world, supervisor, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    client, export_id = build(supervisor, formats=["hf"])
    download = client.get(f"/api/v1/exports/{export_id}/download")
    folder = tmp_path / "export"
    zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))).extractall(folder)
    assert not (folder / "data.jsonl").exists() and not (folder / "vtt").exists()

    from datasets import Audio, load_dataset

    dataset = load_dataset("audiofolder", data_dir=str(folder), split="train",
                           cache_dir=str(tmp_path / "cache")).cast_column("audio", Audio(decode=False))
    assert len(dataset) == 2
    assert sorted(dataset["transcription"]) == ["lights off", "play yellow"]
    for row in dataset:
        audio, rate = sf.read(row["audio"]["path"] or io.BytesIO(row["audio"]["bytes"]))
        assert rate == 8000 and len(audio) == pytest.approx(row["duration"] * rate, abs=2)


def test_deleting_an_exported_clip_removes_the_export_from_the_server(world, supervisor, subject, store,
                                                                     django_capture_on_commit_callbacks):
    client, export_id = build(supervisor)
    assert store.exists(f"exports/{export_id}.sealed")
    with django_capture_on_commit_callbacks(execute=True):
        clips_delete(account=subject, clip_id=world["plain"].id)
    job = ExportJob.objects.get(pk=export_id)
    assert job.state == "expired" and "deleted" in job.error and job.wrapped_key is None
    assert not store.exists(f"exports/{export_id}.sealed")
    refused = client.get(f"/api/v1/exports/{export_id}/download")
    assert refused.status_code == 409 and "deleted" in refused.json()["error"]["message"]


def test_exports_are_for_the_projects_supervisors(world, supervisor, annotator):
    from tests.factories import make_user

    outsider = client_for(make_user("sup-x", "supervisor"))
    Project.objects.create(slug="secret", name="Secret")
    _, export_id = build(supervisor)
    assert client_for(supervisor).post("/api/v1/projects/secret/exports", {}, format="json").status_code == 404
    assert outsider.get(f"/api/v1/exports/{export_id}").status_code == 200  # default project: member
    assert client_for(annotator).get(f"/api/v1/exports/{export_id}").status_code == 403
    bad = client_for(supervisor).post("/api/v1/projects/default/exports", {"formats": ["csv"]}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "unknown_format"
    assert ExportJob.objects.count() == 1


def test_building_twice_writes_it_once(world, supervisor):
    _, export_id = build(supervisor)
    assert export_build(export_id=export_id) == "done"
    assert LedgerEntry.objects.filter(action="export", detail__export=export_id, clip_id__isnull=False).count() == 2


def test_an_export_is_encrypted_on_disk_and_unreadable_once_it_expires(world, supervisor, store, settings,
                                                                        django_capture_on_commit_callbacks):
    client, export_id = build(supervisor)
    stored = f"exports/{export_id}.sealed"
    backup = store.read(stored)  # what a backup of the server would keep
    assert not zipfile.is_zipfile(io.BytesIO(backup)) and b"PK\x03\x04" not in backup
    for text in (b"play yellow", b"lights off", b"data.jsonl", b"RIFF"):
        assert text not in backup
    assert client.get(f"/api/v1/exports/{export_id}/download").status_code == 200

    ExportJob.objects.filter(pk=export_id).update(finished_at=timezone.now() - timedelta(days=settings.EXPORT_KEEP_DAYS,
                                                                                       minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert exports_expire_old() == 1
    job = ExportJob.objects.get(pk=export_id)
    assert job.state == "expired" and job.wrapped_key is None and not store.exists(stored)
    with pytest.raises(vault.VaultError):  # the backup's key no longer exists anywhere
        vault.unwrap_data_key(job.id, job.wrapped_key, bound_to=vault.EXPORT_KEY)
    assert client.get(f"/api/v1/exports/{export_id}/download").status_code == 409


@pytest.mark.parametrize("revocation_deletes,held", [(False, False), (True, True)])
def test_revocation_destroys_the_key_of_every_export_holding_the_owners_clips(
        world, supervisor, subject, store, settings, django_capture_on_commit_callbacks, revocation_deletes,
        held):
    settings.REVOCATION_DELETES = revocation_deletes
    client, export_id = build(supervisor)
    if held:
        LegalHold.objects.create(clip=world["plain"], created_by=supervisor, reason="Requested by counsel.",
                                 expires_at=timezone.now() + timedelta(days=7))
    with django_capture_on_commit_callbacks(execute=True):
        revoked = client_for(subject.user, verified=False).put("/api/v1/me/consent", {"human_review": False},
                                                               format="json")
    assert revoked.status_code == 200
    job = ExportJob.objects.get(pk=export_id)
    assert job.state == "expired" and job.wrapped_key is None and "withdrew" in job.error
    assert not store.exists(f"exports/{export_id}.sealed")
    assert client.get(f"/api/v1/exports/{export_id}/download").status_code == 409


def test_an_altered_or_cut_export_is_refused_not_served(world, supervisor, store, monkeypatch):
    monkeypatch.setattr(vault, "CHUNK_BYTES", 4096)  # several records even for a small export
    monkeypatch.setattr(vault, "RECORD_BYTES", vault.NONCE_BYTES + 4096 + 16)
    client, export_id = build(supervisor)
    stored = f"exports/{export_id}.sealed"
    sealed = store.read(stored)
    assert len(sealed) > 3 * vault.RECORD_BYTES
    whole = b"".join(client.get(f"/api/v1/exports/{export_id}/download").streaming_content)
    assert zipfile.ZipFile(io.BytesIO(whole)).testzip() is None
    flipped = bytearray(sealed)
    flipped[vault.RECORD_BYTES + 40] ^= 1
    cut_at_record = sealed[:2 * vault.RECORD_BYTES]
    swapped = sealed[vault.RECORD_BYTES:2 * vault.RECORD_BYTES] + sealed[:vault.RECORD_BYTES] + sealed[
        2 * vault.RECORD_BYTES:]
    for altered in (bytes(flipped), cut_at_record, swapped):
        store.write(stored, altered)
        with pytest.raises(vault.VaultError):
            b"".join(client.get(f"/api/v1/exports/{export_id}/download").streaming_content)


def test_retention_of_a_clips_audio_destroys_the_exports_holding_it(world, supervisor, settings,
                                                                      django_capture_on_commit_callbacks):
    client, export_id = build(supervisor)
    due = timezone.now() - timedelta(days=settings.RETENTION_AUDIO_DAYS, minutes=1)
    Clip.objects.filter(pk=world["plain"].pk).update(updated_at=due)
    with django_capture_on_commit_callbacks(execute=True):
        assert retention_run()["audio"] == 1
    job = ExportJob.objects.get(pk=export_id)
    assert job.state == "expired" and job.wrapped_key is None and "retention" in job.error
    assert client.get(f"/api/v1/exports/{export_id}/download").status_code == 409
