"""Deletion benchmark: a data subject deletes everything while a real Celery worker is in the middle
of de-identifying their clips.

    make bench-deletion BENCH_ARGS="--clips 6 --runs 5"

Each run ingests `--clips` recordings for a new consenting owner (encrypted raw audio stored, one
pipeline task each on the Redis broker), waits until the worker is working on one of them, then
deletes everything as `DELETE /api/v1/me/clips` does. Measured from the request to the moment no
file of those clips is left in storage, no task for them waits on the broker or runs in the worker,
and every clip is a tombstone; then two more seconds of watching that nothing comes back (a worker
that was mid-clip finds the clip deleted when it stores its result, and removes what it wrote).
PostgreSQL (a database of its own), Redis database 14, a storage folder of its own.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from assign import ROOT, bench_database_url, setup_django  # noqa: E402

AUDIO = ROOT / "labeling" / "demo_audio"


def wait_for(condition, timeout: float, what: str, step: float = 0.02) -> float:
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(step)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = bench_database_url("voicereview_bench_deletion")
    os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    media = Path(tempfile.mkdtemp(prefix="deletion-bench-"))
    os.environ["MEDIA_ROOT"] = str(media)
    setup_django()

    import redis
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from consent.services import account_create
    from labeling.custody.services import clips_delete
    from labeling.intake.services import ClipMetadata, clip_ingest
    from labeling.models import Clip, ClipStatus
    from portal.services import consent_set
    from workers.celery import app

    call_command("migrate", verbosity=0)
    broker = redis.Redis.from_url(os.environ["REDIS_URL"])
    broker.flushdb()
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "celery"), "-A", "workers", "worker", "--concurrency", "1",
         "--loglevel", "WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip"],
        cwd=ROOT, env=os.environ.copy())
    clips_audio = sorted(AUDIO.glob("*.wav"))

    def ingest_for(account, count: int) -> list[uuid.UUID]:
        ids = []
        with transaction.atomic():  # the tasks go to the broker when this commits
            for n in range(count):
                meta = ClipMetadata(account=account.external_id, device_serial="BENCH-SN", first_name="Bench",
                                    recorded_at=timezone.now() - timedelta(minutes=1), wake_word_score=0.9,
                                    locale="en-US")
                ids.append(clip_ingest(audio=clips_audio[n % len(clips_audio)].read_bytes(), metadata=meta).clip_id)
        return ids

    def files_of(ids) -> list[Path]:
        return [p for i in ids for p in (media / "clips" / str(i)).glob("*")]

    def worker_idle() -> bool:
        active = app.control.inspect(timeout=0.5).active() or {}
        return not any(active.values())

    try:
        owner = account_create(external_id=f"bench-warmup-{uuid.uuid4()}")
        consent_set(account=owner, granted=True, channel="api")
        warm = ingest_for(owner, 1)
        took = wait_for(lambda: Clip.objects.filter(pk__in=warm, status=ClipStatus.QUEUED).count() == 1, 600,
                        "the worker's first clip", step=0.5)
        print(f"worker ready: first clip de-identified after {took:.1f} s", flush=True)

        rows = []
        for number in range(1, args.runs + 1):
            owner = account_create(external_id=f"bench-{uuid.uuid4()}")
            consent_set(account=owner, granted=True, channel="api")
            ids = ingest_for(owner, args.clips)
            wait_for(lambda: Clip.objects.filter(pk__in=ids, status=ClipStatus.PROCESSING).exists(), 120,
                     "the worker to start on a clip")
            processed_before = Clip.objects.filter(pk__in=ids, status=ClipStatus.QUEUED).count()
            started = time.perf_counter()
            receipt = clips_delete(account=owner)
            request_ms = (time.perf_counter() - started) * 1000
            wait_for(lambda: not files_of(ids) and broker.llen("celery") == 0 and worker_idle()
                     and Clip.objects.filter(pk__in=ids).exclude(status=ClipStatus.DELETED).count() == 0,
                     60, "every copy to be gone")
            done_s = time.perf_counter() - started
            time.sleep(2.0)
            came_back = len(files_of(ids)) + Clip.objects.filter(pk__in=ids).exclude(
                status=ClipStatus.DELETED).count()
            deleted = sum(item["status"] == "deleted" for item in receipt.items)
            rows.append({"request_ms": request_ms, "done_s": done_s, "came_back": came_back})
            print(f"run {number}: {len(ids)} clips ({processed_before} already de-identified, one in the worker), "
                  f"{deleted} on the receipt, request {request_ms:.0f} ms, every copy gone after {done_s:.2f} s, "
                  f"anything back after 2 s: {came_back}", flush=True)
        print("\n| clips per owner | runs | request ms (median, max) | every copy gone s (median, max) "
              "| anything back |")
        print("|---|---|---|---|---|")
        req = [r["request_ms"] for r in rows]
        done = [r["done_s"] for r in rows]
        print(f"| {args.clips} | {args.runs} | {statistics.median(req):.0f}, {max(req):.0f} "
              f"| {statistics.median(done):.2f}, {max(done):.2f} | {sum(r['came_back'] for r in rows)} |")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        shutil.rmtree(media, ignore_errors=True)


if __name__ == "__main__":
    main()
