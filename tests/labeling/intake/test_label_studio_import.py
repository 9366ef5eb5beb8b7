"""Importing a Label Studio queue: tasks go through the consent gate and the pipeline like any
upload, predictions become masked drafts, bad tasks are named and the rest still come in."""

import json
import shutil

import pytest
from django.core.management import CommandError, call_command

from labeling.intake.label_studio import LabelStudioError, parse
from labeling.intake.services import clip_process
from labeling.models import Clip, ClipStatus
from tests.factories import AUDIO, claim, client_for, make_subject

pytestmark = pytest.mark.django_db


def prediction(text, score):
    return {"model_version": "asr-v1", "score": score,
            "result": [{"from_name": "transcription", "to_name": "audio", "type": "textarea",
                        "value": {"text": [text]}}]}


@pytest.fixture
def audio_root(tmp_path):
    root = tmp_path / "ls-media"
    (root / "upload" / "3").mkdir(parents=True)
    shutil.copy(AUDIO / "speech_with_silence.wav", root / "upload" / "3" / "kitchen.wav")
    (tmp_path / "outside.wav").write_bytes((AUDIO / "speech_with_silence.wav").read_bytes())
    return root


def run(tmp_path, tasks, audio_root, *extra):
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(tasks))
    out = tmp_path / "out.txt"
    with out.open("w") as stream:
        call_command("import_label_studio", str(path), "--audio-root", str(audio_root), *extra, stdout=stream,
                     stderr=stream)
    text = out.read_text()
    return json.loads(text[:text.rindex("}") + 1]), text


def test_a_queue_comes_over_through_consent_and_the_pipeline(tmp_path, audio_root, annotator, media_root,
                                                             django_capture_on_commit_callbacks):
    make_subject("acct-ls-1", "Harriet")
    make_subject("acct-ls-2", "Ivo", consent=False)
    tasks = [
        {"id": 11, "data": {"audio": "/data/upload/3/kitchen.wav", "account": "acct-ls-1"},
         "predictions": [prediction("turn on the lights", 0.2),
                         prediction("please call Sarah Connor about the lights", 0.9)]},
        {"id": 12, "data": {"audio": "/data/local-files/?d=upload/3/kitchen.wav", "account": "acct-ls-2"}},
        {"id": 13, "data": {"audio": "upload/3/kitchen.wav"}},
        {"id": 14, "data": {"audio": "https://example.org/clip.wav", "account": "acct-ls-1"}},
        {"id": 15, "data": {"audio": "../outside.wav", "account": "acct-ls-1"}},
        {"id": 16, "data": {"audio": "upload/3/kitchen.wav", "account": "acct-ls-1", "locale": "de-DE"}},
    ]
    with django_capture_on_commit_callbacks(execute=True):
        report, text = run(tmp_path, tasks, audio_root)
    assert report["imported"] == 1 and report["not_retained"] == {"no_review_consent": 1}
    refused = {item["task"]: item["error"] for item in report["refused"]}
    assert set(refused) == {"13", "14", "15", "16"}
    assert "account" in refused["13"] and "network" in refused["14"] and "leaves" in refused["15"]
    assert "language" in refused["16"] or "de-DE" in refused["16"]
    assert "4 task(s) refused" in text

    clip = Clip.objects.get(status=ClipStatus.RECEIVED)
    assert clip.draft_transcript == "please call [NAME] about the lights"  # the best prediction, masked
    assert clip_process(clip_id=clip.id) == ClipStatus.QUEUED
    served = claim(client_for(annotator))
    assert served["draft"] == "please call [NAME] about the lights"
    assert "Sarah" not in json.dumps(served) and "Connor" not in json.dumps(served)


def test_a_dry_run_checks_and_imports_nothing(tmp_path, audio_root, store):
    make_subject("acct-ls-1", "Harriet")
    report, _ = run(tmp_path, [{"data": {"audio": "upload/3/kitchen.wav", "account": "acct-ls-1"}}], audio_root,
                    "--dry-run")
    assert report["checked"] == 1 and report["imported"] == 0
    assert Clip.objects.count() == 0 and store.files() == []


@pytest.mark.parametrize("content,message", [("{not json", "is not JSON"), ("[]", "JSON array"),
                                             ('[{"audio": "a.wav"}]', "no 'data' object")])
def test_a_file_that_is_not_task_json_is_refused_whole(tmp_path, audio_root, store, content, message):
    path = tmp_path / "tasks.json"
    path.write_text(content)
    with pytest.raises(CommandError, match=message):
        call_command("import_label_studio", str(path), "--audio-root", str(audio_root))
    assert Clip.objects.count() == 0 and store.files() == []


def test_an_unknown_project_is_refused(tmp_path, audio_root):
    with pytest.raises(CommandError, match="no project 'nope'"):
        run(tmp_path, [{"data": {"audio": "a.wav", "account": "x"}}], audio_root, "--project", "nope")


def test_predictions_are_read_from_label_studio_results():
    tasks = parse([{"id": 1, "data": {"audio": "a.wav", "account": "x", "unrelated": 3},
                    "predictions": [{"result": [{"type": "labels", "value": {"labels": ["music"]}},
                                                {"type": "textarea", "value": {"text": ["play", "jazz"]}}]}]}])
    assert tasks[0].prediction == "play jazz" and tasks[0].metadata == {"account": "x"} and not tasks[0].error
    with pytest.raises(LabelStudioError):
        parse({"tasks": []})
