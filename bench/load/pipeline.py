"""De-identification under a backlog: 10,000 clips waiting on the Redis broker, real Celery worker
processes running the whole pipeline (decode, VAD trim, Whisper, alignment, PII masking, voice
disguise, encryption) on each.

    make bench-pipeline BENCH_ARGS="--clips 10000 --concurrency 2 --minutes 10"

The clips are the three demo recordings (3 to 4 s of speech, flite voices) sent through the same
ingest service as the API (consent gate, encrypted original, task on commit). The clock starts
when the first clip is finished (the models are loaded once per worker process, before that);
from then on finished clips (queued, discarded or held) are counted every five seconds for
`--minutes`. Reported: clips per minute in all and per worker process, seconds of audio per second
per process, held clips, and the worker processes' CPU and peak memory. PostgreSQL database
voicereview_bench_pipeline, Redis database 12.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from assign import ROOT, bench_stack_env  # noqa: E402
from run import ResourceSampler, _children  # noqa: E402

MEDIA = ROOT / "var" / "bench" / "pipeline-media"
FINISHED = ("queued", "discarded", "held")


def backlog(clips: int) -> float:
    """Ingest `clips` recordings for consenting owners; returns their seconds of audio in all."""
    import redis
    import soundfile as sf
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from consent.services import account_create
    from labeling.intake.services import ClipMetadata, clip_ingest
    from portal.services import consent_set

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE labeling_transcript, labeling_assignment, labeling_shift, labeling_clip, "
                       "consent_consentrecord, consent_account, consent_ledgerentry, consent_ledgerhead CASCADE")
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    demo = sorted((ROOT / "labeling" / "demo_audio").glob("*.wav"))
    recordings = [(path.read_bytes(), sf.info(path).duration) for path in demo]
    owners = []
    for index in range(100):
        owner = account_create(external_id=f"bench-pipeline-{index}", first_name="Bench")
        consent_set(account=owner, granted=True, channel="api")
        owners.append(owner)
    seconds = 0.0
    now = timezone.now()
    for index in range(clips):
        audio, duration = recordings[index % len(recordings)]
        meta = ClipMetadata(account=owners[index % len(owners)].external_id, device_serial="BENCH-SN",
                            first_name="Bench", recorded_at=now - timedelta(seconds=index), wake_word_score=0.9,
                            locale="en-US")
        outcome = clip_ingest(audio=audio, metadata=meta)
        assert outcome.status == "received", outcome
        seconds += duration
    return seconds


def finished_count() -> int:
    from labeling.models import Clip

    return Clip.objects.filter(status__in=FINISHED).count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (Celery prefork pool)")
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()

    bench_stack_env(database="voicereview_bench_pipeline",
                    redis_url=os.environ.get("BENCH_PIPELINE_REDIS_URL", "redis://127.0.0.1:6379/12"), media=MEDIA)
    from django.db.models import Count

    from labeling.models import Clip

    started = time.perf_counter()
    audio_seconds = backlog(args.clips)
    per_clip = audio_seconds / args.clips
    print(f"backlog of {args.clips:,} clips ({audio_seconds / 3600:.1f} h of audio, {per_clip:.2f} s each) "
          f"ingested in {time.perf_counter() - started:.0f} s", flush=True)

    celery = str(Path(sys.executable).parent / "celery")
    worker = subprocess.Popen([celery, "-A", "workers", "worker", "--concurrency", str(args.concurrency),
                               "--loglevel", "WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip"],
                              cwd=ROOT, env=dict(os.environ), start_new_session=True)
    try:
        while finished_count() == 0:
            time.sleep(0.5)
        base, clock = finished_count(), time.monotonic()
        sampler = ResourceSampler({"worker processes": lambda: _children(worker.pid)}, interval=5.0)
        sampler.start()
        end = clock + args.minutes * 60
        while time.monotonic() < end:
            time.sleep(5)
            done = finished_count() - base
            elapsed = time.monotonic() - clock
            print(f"  {elapsed:5.0f} s: {done:,} finished, {done / elapsed * 60:.1f} clips/min", flush=True)
        done, elapsed = finished_count() - base, time.monotonic() - clock
        sampler.stopped.set()
        sampler.join()
    finally:
        os.kill(worker.pid, signal.SIGTERM)  # warm shutdown: the pool finishes the clips it holds
        worker.wait(timeout=300)
    states = dict(Clip.objects.values_list("status").annotate(n=Count("id")).order_by())
    per_minute = done / elapsed * 60
    resources = sampler.summary()["worker processes"]
    print("\n| worker processes | backlog | minutes | clips finished | clips/min | clips/min per process "
          "| audio s per s per process | held | worker CPU mean % | worker memory (PSS) max MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.concurrency} | {args.clips:,} | {elapsed / 60:.1f} | {done:,} | {per_minute:.1f} "
          f"| {per_minute / args.concurrency:.1f} | {done * per_clip / elapsed / args.concurrency:.2f} "
          f"| {states.get('held', 0)} | {resources['cpu_mean_pct']:.0f} | {resources['memory_max_mb']:.0f} |")
    print(f"clips per state afterwards: {states}")


if __name__ == "__main__":
    main()
