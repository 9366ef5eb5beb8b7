"""The files of a project export, line by line: JSON Lines, a NeMo manifest, a Hugging Face
audio folder's metadata and WebVTT. Pure formatting; the export service decides what goes in."""

from __future__ import annotations

import json
from dataclasses import dataclass

README = """Voice review export of project {project} ({created})

audio/<id>.wav   de-identified audio, mono 16-bit PCM at {rate} Hz (silence trimmed, personal data masked,
                 voice disguised); <id> is an identifier made for this export only
data.jsonl       one JSON object per clip: id, audio, duration, text, intent, entities (character
                 offsets into text), flags, language, source (transcription, gold or adjudicated)
manifest.json    NeMo-style manifest, one JSON object per line: audio_filepath, duration, text
metadata.jsonl   Hugging Face datasets audio folder: load_dataset("audiofolder", data_dir=<this folder>)
vtt/<id>.vtt     WebVTT, one cue over the clip

Masking tokens [NAME], [NUMBER], [EMAIL], [ADDRESS] stand where personal data was removed from the
audio. Every transcript was checked for personal data once more; clips whose text still held some
were left out. Clips: {exported}; left out: {left_out}.
"""


@dataclass(frozen=True)
class Entry:
    id: str
    duration: float
    text: str
    intent: str
    entities: list[dict]
    flags: list[str]
    language: str
    source: str

    @property
    def audio(self) -> str:
        return f"audio/{self.id}.wav"


def _line(body: dict) -> str:
    return json.dumps(body, ensure_ascii=False) + "\n"


def jsonl_line(entry: Entry) -> str:
    return _line({"id": entry.id, "audio": entry.audio, "duration": entry.duration, "text": entry.text,
                  "intent": entry.intent, "entities": entry.entities, "flags": entry.flags,
                  "language": entry.language, "source": entry.source})


def nemo_line(entry: Entry) -> str:
    return _line({"audio_filepath": entry.audio, "duration": entry.duration, "text": entry.text})


def hf_line(entry: Entry) -> str:
    # Entities as a JSON string: a column of nested records that is empty in most rows would leave
    # the datasets library guessing its type.
    return _line({"file_name": entry.audio, "transcription": entry.text, "duration": entry.duration,
                  "intent": entry.intent, "entities": json.dumps(entry.entities), "flags": entry.flags,
                  "language": entry.language})


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def webvtt(entry: Entry) -> str:
    # A cue's text may not hold a blank line or "-->".
    text = " ".join(entry.text.replace("-->", "->").split()) or "[no speech]"
    return f"WEBVTT\n\n{_timestamp(0.0)} --> {_timestamp(entry.duration)}\n{text}\n"
