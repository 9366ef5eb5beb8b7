"""De-identify one audio file exactly as the workers do, optionally writing a report."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from labeling.intake.services import deid_params
from redaction.audio import AudioError, encode_wav
from redaction.pipeline import DeidFailed, deidentify


class Command(BaseCommand):
    help = "De-identify IN (WAV, FLAC, OGG or MP3) into OUT (16 kHz WAV): trim, mask personal data, disguise."

    def add_arguments(self, parser):
        parser.add_argument("input", type=Path)
        parser.add_argument("output", type=Path)
        parser.add_argument("--report", type=Path, help="write a JSON report: masked spans, recognized text")
        parser.add_argument("--seed", type=int, help="fix the voice disguise draw (default: random)")

    def handle(self, *args, input: Path, output: Path, report: Path | None, seed: int | None, **options):
        try:
            data = input.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {input}: {exc.strerror}") from None
        params = deid_params(seed=seed if seed is not None else secrets.randbits(32))
        try:
            result = deidentify(data, params)
        except AudioError as exc:
            raise CommandError(f"{input}: {exc.message}") from None
        except DeidFailed as exc:
            raise CommandError(f"{input}: not de-identified ({exc.code}): {exc.message}. Nothing written.") from None
        if result.audio is None:
            raise CommandError(f"{input}: no speech found; nothing written.")
        output.write_bytes(encode_wav(result.audio))
        if report:
            report.write_text(json.dumps({
                "input": str(input),
                "output": str(output),
                "input_seconds": round(result.input_seconds, 3),
                "trimmed_seconds": round(result.trimmed_seconds, 3),
                "output_seconds": round(len(result.audio) / 16_000, 3),
                "masked": [{"type": s.kind, "start": s.start, "end": s.end} for s in result.spans],
                "uncovered_share": round(result.uncovered_share, 3),
                "mean_word_probability": round(result.mean_probability, 3),
                "reattack": {"recognizer": "pocketsphinx", "heard": " ".join(result.reattack_heard),
                             "personal_data_heard_and_masked": result.reattack_hits},
                "stage_seconds": {stage: round(seconds, 3) for stage, seconds in result.timings.items()},
                "draft": result.draft,
                "recognized_text": " ".join(w.text for w in result.words),
                "words": [{"text": w.text, "start": round(w.start, 3), "end": round(w.end, 3)} for w in result.words],
                "tokens": [{"text": t.text, "start": round(t.start, 3), "end": round(t.end, 3)} for t in result.tokens],
                "disguise": {"pitch": round(params.voice.pitch, 3), "formant": round(params.voice.formant, 3),
                             "mcadams_alpha": round(params.voice.alpha, 3)},
                "mask_mode": params.mask_mode,
            }, indent=2))
        kinds = ", ".join(f"{s.kind} {s.start:.2f}-{s.end:.2f}s" for s in result.spans) or "nothing"
        self.stdout.write(f"{output}: {len(result.audio) / 16_000:.2f} s, masked {kinds}; draft: {result.draft}")
        heard = " ".join(result.reattack_heard) or "nothing"
        again = ", ".join(result.reattack_hits) or "no personal data"
        self.stdout.write(f"re-attack (pocketsphinx) heard: {heard}; of it {again} (masked)")
