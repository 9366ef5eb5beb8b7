"""Label Studio task JSON, read into what an import needs: where each task's audio is, the metadata
its data carries, and the transcription a model predicted. Pure parsing; the import command feeds
each task through the same ingest as devices use."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

# Task data fields that become the clip's metadata; the owner's account is required, the rest
# have defaults the import command chooses.
METADATA_FIELDS = ("account", "device_serial", "first_name", "recorded_at", "wake_word_score", "locale")


class LabelStudioError(ValueError):
    """The file is not Label Studio task JSON; nothing was imported."""


@dataclass
class Task:
    id: str
    audio: str  # as the task names it
    metadata: dict = field(default_factory=dict)
    prediction: str = ""  # the highest-scored predicted transcription, if any
    error: str = ""  # why this task cannot be imported; the others can


def parse(document, *, audio_key: str = "audio") -> list[Task]:
    """The tasks of an exported or hand-written task list (a JSON array, or one task object)."""
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list) or not document:
        raise LabelStudioError("Expected a JSON array of Label Studio tasks.")
    tasks = []
    for index, raw in enumerate(document):
        if not isinstance(raw, dict) or not isinstance(raw.get("data"), dict):
            raise LabelStudioError(f"Task {index + 1} has no 'data' object; is this Label Studio task JSON?")
        data = raw["data"]
        task = Task(id=str(raw.get("id", index + 1)), audio=str(data.get(audio_key) or ""))
        task.metadata = {name: data[name] for name in METADATA_FIELDS if name in data}
        task.prediction = _best_prediction(raw.get("predictions"))
        if not task.audio:
            task.error = f"no '{audio_key}' in the task's data"
        elif "account" not in task.metadata:
            task.error = "no 'account' in the task's data: every clip needs its owner, whose consent is checked"
        tasks.append(task)
    return tasks


def _best_prediction(predictions) -> str:
    """The text of the highest-scored prediction's first textarea result."""
    if not isinstance(predictions, list):
        return ""
    scored = []
    for prediction in predictions:
        if not isinstance(prediction, dict):
            continue
        for result in prediction.get("result") or []:
            value = result.get("value") if isinstance(result, dict) else None
            text = value.get("text") if isinstance(value, dict) else None
            if isinstance(text, list):
                text = " ".join(str(t) for t in text)
            if isinstance(text, str) and text.strip():
                score = prediction.get("score")
                scored.append((score if isinstance(score, (int, float)) else 0.0, text.strip()))
                break
    return max(scored, key=lambda pair: pair[0])[1] if scored else ""


def local_path(reference: str, root: Path) -> Path:
    """The file under `root` an audio reference names: a plain relative path, Label Studio's
    /data/local-files/?d=... or /data/upload/... Network addresses and paths leaving the root are
    refused (ValueError): audio is never fetched from elsewhere."""
    parsed = urlparse(reference)
    if parsed.scheme in ("http", "https", "s3", "gs", "azure-blob"):
        raise ValueError("audio on the network is not fetched; copy the files under --audio-root")
    if parsed.path.startswith("/data/local-files"):
        relative = (parse_qs(parsed.query).get("d") or [""])[0]
    elif parsed.path.startswith("/data/"):
        relative = parsed.path[len("/data/"):]
    else:
        relative = reference
    root = root.resolve()
    path = (root / relative.lstrip("/")).resolve()
    if root != path and root not in path.parents:
        raise ValueError("the audio path leaves --audio-root")
    if not path.is_file():
        raise ValueError(f"no file {relative} under --audio-root")
    return path
