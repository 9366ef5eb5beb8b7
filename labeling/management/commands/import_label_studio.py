"""Move a Label Studio queue here: each audio task goes through the same consent gate and
de-identification as a device's upload, and its predicted transcription becomes the draft."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.errors import ApplicationError
from labeling.intake.apis import ClipIngestApi
from labeling.intake.label_studio import LabelStudioError, local_path, parse
from labeling.intake.services import ClipMetadata, clip_ingest
from labeling.models import Project
from redaction import pii


class Command(BaseCommand):
    help = ("Import Label Studio audio tasks (JSON) into a project. Each task's data names the audio file "
            "and the owner's account (plus optional device_serial, first_name, recorded_at, wake_word_score, "
            "locale); owners without consent to human review are not retained, as at ingest.")

    def add_arguments(self, parser):
        parser.add_argument("tasks", type=Path, help="Label Studio task JSON (an exported task list)")
        parser.add_argument("--audio-root", type=Path, required=True,
                            help="folder the tasks' audio paths are read from; nothing is fetched from the network")
        parser.add_argument("--project", default=settings.DEFAULT_PROJECT, help="project slug (default: %(default)s)")
        parser.add_argument("--audio-key", default="audio", help="the task data field naming the audio")
        parser.add_argument("--dry-run", action="store_true", help="check every task, import nothing")

    def handle(self, *args, tasks: Path, audio_root: Path, project: str, audio_key: str, dry_run: bool, **options):
        if not Project.objects.filter(slug=project).exists():
            raise CommandError(f"There is no project '{project}'.")
        if not audio_root.is_dir():
            raise CommandError(f"--audio-root {audio_root} is not a folder.")
        try:
            document = json.loads(tasks.read_text(encoding="utf-8"))
            parsed = parse(document, audio_key=audio_key)
        except OSError as exc:
            raise CommandError(f"Cannot read {tasks}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise CommandError(f"{tasks} is not JSON: {exc.msg} (line {exc.lineno}).") from None
        except LabelStudioError as exc:
            raise CommandError(str(exc)) from None

        report = {"tasks": len(parsed), "imported": 0, "checked": 0, "not_retained": {}, "refused": []}
        for task in parsed:
            try:
                audio, metadata, draft = self._prepare(task, audio_root, project)
                if dry_run:
                    report["checked"] += 1
                    continue
                outcome = clip_ingest(audio=audio, metadata=metadata, draft=draft)
            except (ValueError, ApplicationError, pii.PiiError) as exc:
                report["refused"].append({"task": task.id, "error": _message(exc)})
                continue
            if outcome.status == "not_retained":
                report["not_retained"][outcome.reason] = report["not_retained"].get(outcome.reason, 0) + 1
            else:
                report["imported"] += 1
        self.stdout.write(json.dumps(report, indent=2))
        if report["refused"]:
            self.stderr.write(f"{len(report['refused'])} task(s) refused; the others were "
                              f"{'checked' if dry_run else 'imported'}. Fix them and import those again.")

    def _prepare(self, task, audio_root: Path, project: str) -> tuple[bytes, ClipMetadata, str]:
        if task.error:
            raise ValueError(task.error)
        path = local_path(task.audio, audio_root)
        if path.stat().st_size > settings.MAX_UPLOAD_BYTES:
            raise ValueError(f"{path.name} is larger than the upload limit")
        fields = {"device_serial": "label-studio-import", "recorded_at": timezone.now().isoformat(),
                  "wake_word_score": 1.0, "locale": Project.objects.get(slug=project).locale,
                  **task.metadata, "project": project}
        serializer = ClipIngestApi.MetadataSerializer(data=fields)
        if not serializer.is_valid():
            raise ValueError(f"metadata: {json.dumps(serializer.errors)}")
        draft = pii.mask_text(task.prediction) if task.prediction else ""
        return path.read_bytes(), ClipMetadata(**serializer.validated_data), draft


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, ApplicationError) else str(exc)
