"""Retention benchmark: how many clips an hour of retention work purges, beside how many the load
benchmark labels in an hour.

    make bench-retention BENCH_ARGS="--clips 20000 --kept 200000 --runs 3"

A database of its own on PostgreSQL (`bench_retention` on DATABASE_URL's server) and a
storage folder of its own. Seeded once: `--kept` clips that retention must leave alone or has
already dealt with (recently labeled clips with audio, labeled ones whose audio is gone and whose
transcripts are younger than the limit, young queued clips, tombstones, discarded clips without
details), so that the passes find what is due among rows that are not. Each run then adds
`--clips` due clips, shared among the passes named by `--mix`: held and discarded clips with their
details, labeled clips 31 days old with encrypted audio on disk, labeled clips whose transcripts are
181 days old, and queued clips nobody labeled for 31 days, with encrypted audio on disk. The clock
runs around one `retention_run` (the service the hourly task calls) with a time budget longer than
the work, until it reports nothing due; file deletions after each commit are inside it. Then it
checks that every due clip was purged, once, with one ledger entry each, that no other clip was
touched, that no file of a due clip is left, and that the ledger's chains verify.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from assign import bench_database_url, setup_django  # noqa: E402

PASSES = ("details", "audio", "transcripts", "queued")
LOAD_LABELED_PER_HOUR = 9.24 * 3600  # bench/README.md, the whole stack under load: 9.24 clips/s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=20_000, help="due clips per run")
    parser.add_argument("--kept", type=int, default=200_000, help="clips retention leaves alone, seeded once")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=200, help="clips per batch (retention_run's batch)")
    parser.add_argument("--mix", default=",".join(PASSES), help=f"passes the due clips are for, of {PASSES}")
    args = parser.parse_args()
    mix = [name.strip() for name in args.mix.split(",") if name.strip()]
    if not mix or set(mix) - set(PASSES):
        raise SystemExit(f"--mix takes a comma-separated list of {', '.join(PASSES)}")

    os.environ["DATABASE_URL"] = bench_database_url("bench_retention")
    media = Path(tempfile.mkdtemp(prefix="retention-bench-"))
    os.environ["MEDIA_ROOT"] = str(media)
    os.environ["LOG_LEVEL"] = "WARNING"
    setup_django()

    from django.core.management import call_command
    from django.db import connection

    from consent.models import LedgerEntry
    from consent.services import ledger_verify
    from labeling.custody.retention import retention_run
    from labeling.models import Clip

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE labeling_transcript, labeling_assignment, labeling_shift, labeling_clip, "
                       "consent_consentrecord, consent_account, consent_ledgerentry, consent_ledgerhead CASCADE")
        cursor.execute("DELETE FROM labeling_project WHERE slug = 'bench-kept'")
    try:
        started = time.perf_counter()
        world = World.create(accounts=2_000)
        world.seed_kept(args.kept)
        print(f"seeded {args.kept:,} clips retention leaves alone in {time.perf_counter() - started:.0f} s",
              flush=True)
        rows = []
        for number in range(1, args.runs + 1):
            due = world.seed_due(args.clips, mix)
            kept_before = world.kept_fingerprint()
            vacuum()
            ledger_before = LedgerEntry.objects.count()
            started = time.perf_counter()
            counts = retention_run(batch=args.batch, seconds=3600)
            seconds = time.perf_counter() - started
            expected = {name: len(due[name]) for name in PASSES}
            problems = world.check(due, kept_before, media)
            entries = LedgerEntry.objects.count() - ledger_before
            if {name: counts[name] for name in PASSES} != expected or not counts["finished"]:
                problems.append(f"counts {counts}, expected {expected}")
            if entries != args.clips:
                problems.append(f"{entries} ledger entries for {args.clips} clips")
            rate = args.clips / seconds * 3600
            rows.append({"seconds": seconds, "rate": rate, "problems": problems})
            print(f"run {number}: {args.clips:,} due clips ({', '.join(f'{n} {expected[n]:,}' for n in mix)}) "
                  f"purged in {seconds:.1f} s: {rate:,.0f} clips per hour of retention work; "
                  f"problems: {problems or 'none'}", flush=True)
        report = ledger_verify()
        print(f"ledger: {report.entries:,} entries, chains intact: {report.intact}")
        total = Clip.objects.count()
        rates = [r["rate"] for r in rows]
        median = statistics.median(rates)
        print(f"\n| due clips per run ({', '.join(mix)}) | clips in the database | batch | runs | seconds per run "
              "(median) | **clips purged per hour of work** (median, range) | × load benchmark's labeling "
              "(33,264/h) | problems |")
        print("|---|---|---|---|---|---|---|---|")
        print(f"| {args.clips:,} | {total:,} | {args.batch} | {args.runs} "
              f"| {statistics.median(r['seconds'] for r in rows):.1f} "
              f"| **{median:,.0f}** ({min(rates):,.0f}–{max(rates):,.0f}) "
              f"| {median / LOAD_LABELED_PER_HOUR:.1f} | {sum(len(r['problems']) for r in rows)} |")
    finally:
        shutil.rmtree(media, ignore_errors=True)


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("labeling_clip", "labeling_transcript", "labeling_assignment", "consent_ledgerentry"):
            cursor.execute(f"VACUUM ANALYZE {table}")


class World:
    """The rows the benchmark seeds: owners, one annotator with a shift, clips in every state."""

    def __init__(self, owners, project, annotator, shift):
        from labeling.models import Project

        self.owners, self.project, self.annotator, self.shift = owners, project, annotator, shift
        self.kept_project = Project.objects.create(slug="bench-kept", name="Clips retention leaves alone")

    @classmethod
    def create(cls, *, accounts: int) -> World:
        from django.conf import settings
        from django.contrib.auth.models import User

        from consent.models import Account, ConsentRecord
        from labeling.models import Project, Shift

        owners = Account.objects.bulk_create([Account(external_id=f"bench-{i}") for i in range(accounts)])
        ConsentRecord.objects.bulk_create(
            [ConsentRecord(account=a, version=1, granted=True, policy_version="bench", channel="api") for a in owners])
        annotator, _ = User.objects.get_or_create(username="bench-annotator")
        shift = Shift.objects.create(annotator=annotator)
        return cls(owners, Project.objects.get(slug=settings.DEFAULT_PROJECT), annotator, shift)

    def clip(self, index: int, **fields):
        from django.utils import timezone

        from labeling.models import Clip

        now = timezone.now()
        values = {"device_serial": "BENCH-SN", "recorded_at": now - timedelta(days=200), "wake_word_score": 0.9,
                  "locale": "en-US", "duration_seconds": 3.0, "created_at": now - timedelta(days=200),
                  "updated_at": now, **fields}
        return Clip(id=uuid.uuid4(), account=self.owners[index % len(self.owners)], project=self.project, **values)

    def labeled(self, clips: list, transcribed_days_ago: float) -> None:
        """Each clip's submitted assignment and transcript."""
        from django.utils import timezone

        from labeling.models import Assignment, Transcript

        at = timezone.now() - timedelta(days=transcribed_days_ago)
        assignments = [Assignment(clip_id=c.id, account_id=c.account_id, annotator=self.annotator, shift=self.shift,
                                  state="submitted", created_at=at, lease_expires_at=at, closed_at=at)
                       for c in clips]
        bulk(Assignment, assignments)
        bulk(Transcript, [Transcript(assignment=a, clip_id=a.clip_id, annotator=self.annotator,
                                     text="turn on the porch light", created_at=at) for a in assignments])

    def with_audio(self, index: int, **fields):
        """A clip with a data key and encrypted audio on disk."""
        from labeling import vault

        clip = self.clip(index, **fields)
        key, wrapped = vault.new_data_key(clip.id)
        clip.wrapped_key = wrapped
        clip.deid_path = vault.store_audio(clip.id, key, "deid", b"RIFF" + bytes(1_000))
        return clip

    def seed_kept(self, count: int) -> None:
        """Clips no pass may take: 30% labeled with audio, under 30 days; 30% labeled, audio gone,
        transcripts under 180 days; 15% queued under 30 days; 15% tombstones; 10% discarded without
        details. Their audio is a key without a file (nothing reads it here)."""
        from django.utils import timezone

        now = timezone.now()
        made = []
        for index in range(count):
            share = index % 20
            age = timedelta(days=1 + (index % 28))
            if share < 6:
                clip = self.clip(index, status="labeled", wrapped_key=b"kept", deid_path="bench/kept",
                                 queued_at=now - age, updated_at=now - age)
            elif share < 12:
                clip = self.clip(index, status="labeled", queued_at=now - age * 5, updated_at=now - age * 5)
            elif share < 15:
                clip = self.clip(index, status="queued", wrapped_key=b"kept", deid_path="bench/kept",
                                 queued_at=now - age)
            elif share < 18:
                clip = self.clip(index, status="deleted", status_reason="retention", device_serial="",
                                 recorded_at=None, locale="", updated_at=now - age)
            else:
                clip = self.clip(index, status="discarded", status_reason="accidental", device_serial="",
                                 recorded_at=None, locale="", updated_at=now - age)
            clip.project = self.kept_project
            made.append(clip)
        from labeling.models import Clip

        bulk(Clip, made)
        self.labeled([c for c in made if c.status == "labeled"], 20)  # transcripts well under the limit

    def seed_due(self, count: int, mix: list[str]) -> dict[str, list[uuid.UUID]]:
        from django.utils import timezone

        from labeling.models import Clip

        now = timezone.now()
        made: dict[str, list] = {name: [] for name in PASSES}
        for index in range(count):
            what = mix[index % len(mix)]
            if what == "details":
                clip = self.clip(index, status="held" if index % 2 else "discarded",
                                 status_reason="asr_timeout" if index % 2 else "accidental")
            elif what == "audio":
                clip = self.with_audio(index, status="labeled", queued_at=now - timedelta(days=40),
                                       updated_at=now - timedelta(days=31))
            elif what == "transcripts":
                clip = self.clip(index, status="labeled", queued_at=now - timedelta(days=190),
                                 updated_at=now - timedelta(days=150))
            else:
                clip = self.with_audio(index, status="queued", queued_at=now - timedelta(days=31))
            made[what].append(clip)
        bulk(Clip, [c for clips in made.values() for c in clips])
        self.labeled(made["audio"], 31)
        self.labeled(made["transcripts"], 181)
        return {name: [c.id for c in clips] for name, clips in made.items()}

    def kept_fingerprint(self) -> dict:
        from labeling.models import Clip

        return {clip_id: rest for clip_id, *rest in Clip.objects.filter(project=self.kept_project).values_list(
            "id", "status", "updated_at", "device_serial", "wrapped_key")}

    def check(self, due: dict[str, list[uuid.UUID]], kept_before: dict, media: Path) -> list[str]:
        from consent.models import LedgerEntry
        from labeling.models import Clip, Transcript

        problems = []
        clips = Clip.objects
        if clips.filter(pk__in=due["details"]).exclude(device_serial="").exists():
            problems.append("details left")
        if clips.filter(pk__in=due["audio"], wrapped_key__isnull=False).exists():
            problems.append("audio left")
        for name in ("transcripts", "queued"):
            if clips.filter(pk__in=due[name]).exclude(status="deleted", status_reason="retention").exists():
                problems.append(f"{name}: clips not deleted")
        if Transcript.objects.filter(clip_id__in=due["transcripts"] + due["queued"]).exists():
            problems.append("transcripts left")
        all_due = [i for ids in due.values() for i in ids]
        twice = (LedgerEntry.objects.filter(clip_id__in=all_due, action="deletion").values("clip_id")
                 .distinct().count())
        if twice != len(all_due):
            problems.append(f"{twice} clips with a ledger entry of {len(all_due)}")
        if kept_before != self.kept_fingerprint():
            problems.append("a clip retention should leave alone was changed")
        left = [p for i in due["audio"] + due["queued"] for p in (media / "clips" / str(i)).glob("*")]
        if left:
            problems.append(f"{len(left)} audio files left")
        return problems


def bulk(model, rows: list) -> None:
    for start in range(0, len(rows), 2_000):  # PostgreSQL takes at most 65535 bound parameters
        model.objects.bulk_create(rows[start:start + 2_000])


if __name__ == "__main__":
    main()
