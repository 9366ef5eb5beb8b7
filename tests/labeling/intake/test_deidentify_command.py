"""manage.py deidentify: the workers' code path on one file, with a report."""

import io
import json

import pytest
import soundfile as sf
from django.core.management import CommandError, call_command

from tests.factories import AUDIO


def test_writes_deidentified_audio_and_a_report(tmp_path):
    out, report = tmp_path / "out.wav", tmp_path / "report.json"
    call_command("deidentify", str(AUDIO / "pii_number.wav"), str(out), "--report", str(report), "--seed", "7",
                 stdout=io.StringIO())
    audio, rate = sf.read(out)
    assert rate == 16000 and len(audio) > 16000
    data = json.loads(report.read_text())
    assert [m["type"] for m in data["masked"]] == ["NUMBER"]
    assert 1.0 < data["masked"][0]["start"] < data["masked"][0]["end"] <= data["input_seconds"]
    assert data["draft"].endswith("[NUMBER]")
    assert data["tokens"] and data["words"] and "number" in data["recognized_text"].lower()
    assert data["trimmed_seconds"] >= 0
    # What the independent recognizer heard in the output, and that none of it was the number.
    assert data["reattack"]["recognizer"] == "pocketsphinx" and data["reattack"]["personal_data_heard_and_masked"] == []
    assert not any(digit in data["reattack"]["heard"].split() for digit in ("two", "six", "five", "nine", "eight"))
    assert {"asr", "pii", "disguise", "reattack"} <= set(data["stage_seconds"])


def test_unreadable_input_is_a_clear_error_and_writes_nothing(tmp_path):
    out = tmp_path / "out.wav"
    bogus = tmp_path / "notes.wav"
    bogus.write_text("not audio")
    with pytest.raises(CommandError, match="not readable audio"):
        call_command("deidentify", str(bogus), str(out))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("deidentify", str(tmp_path / "missing.wav"), str(out))
    assert not out.exists()


def test_no_speech_writes_nothing(tmp_path):
    out = tmp_path / "out.wav"
    with pytest.raises(CommandError, match="no speech"):
        call_command("deidentify", str(AUDIO / "noise_only.wav"), str(out))
    assert not out.exists()
