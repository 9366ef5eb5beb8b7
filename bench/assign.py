"""Claim benchmark: many queued clips on PostgreSQL, concurrent reviewers claiming and submitting.

    make bench-assign BENCH_ARGS="--clips 100000 --clients 16 --seconds 30 --runs 3"

Each client is a thread with its own database connection, calling the same services as the API
(assignment_claim, then transcript_submit) with no pause; the threads are spread over a few app
processes, as a threaded application server would run them. It creates and uses its own database
(DATABASE_URL's server, database voicereview_bench), never the test database.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "voicereview_bench"


def bench_database_url(name: str = BENCH_DB) -> str:
    """DATABASE_URL's PostgreSQL server with a database of the benchmark's own, created if missing."""
    url = os.environ.get("DATABASE_URL", "postgres://127.0.0.1:5432/test")
    parsed = urlparse(url)
    if not parsed.scheme.startswith("postgres"):
        raise SystemExit("This benchmark runs on PostgreSQL: set DATABASE_URL to a postgres:// URL.")
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return urlunparse(parsed._replace(path=f"/{name}"))


def bench_stack_env(*, database: str, redis_url: str, media: Path) -> None:
    """Point this process, and the servers it starts, at the benchmark's own database, Redis
    database and storage folder, then set Django up."""
    os.environ["DATABASE_URL"] = bench_database_url(database)
    os.environ["REDIS_URL"] = redis_url
    os.environ["MEDIA_ROOT"] = str(media)
    os.environ.setdefault("SECRET_KEY", "bench-" + "k" * 50)
    os.environ["LOG_LEVEL"] = "WARNING"
    setup_django()


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def seed(clips: int, accounts: int) -> None:
    """Fill the queue. Audio is not streamed in this benchmark, so clips point at no stored file."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from consent.models import Account, ConsentRecord, PolicyVersion
    from labeling.models import Clip, ClipStatus, Project

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE labeling_transcript, labeling_assignment, labeling_shift, labeling_clip, "
            "consent_consentrecord, consent_account, consent_ledgerentry, consent_ledgerhead CASCADE"
        )
    now = timezone.now()
    project = Project.objects.get(slug=settings.DEFAULT_PROJECT)
    owners = Account.objects.bulk_create(
        [Account(external_id=f"bench-{i}", first_name="Bench") for i in range(accounts)]
    )
    policy = PolicyVersion.objects.filter(number__isnull=False).order_by("-number").first().version
    ConsentRecord.objects.bulk_create(
        [ConsentRecord(account=a, version=1, granted=True, policy_version=policy, channel="api") for a in owners]
    )
    batch = []
    for index in range(clips):
        batch.append(Clip(
            id=uuid.uuid4(), account=owners[index % accounts], project=project, device_serial="BENCH", recorded_at=now,
            wake_word_score=0.9, locale="en-US", status=ClipStatus.QUEUED, deid_path="bench/none",
            wrapped_key=b"bench", duration_seconds=4.0, queued_at=now,
        ))
        if len(batch) == 2_000:  # PostgreSQL takes at most 65535 bound parameters
            Clip.objects.bulk_create(batch)
            batch = []
    Clip.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE labeling_clip")


def reset_queue() -> None:
    """Put every clip back in the queue between runs."""
    from django.db import connection

    with connection.cursor() as cursor:
        # CASCADE: escalations, legal holds and second opinions refer to assignments.
        cursor.execute("TRUNCATE labeling_transcript, labeling_assignment, labeling_shift, consent_ledgerentry, "
                       "consent_ledgerhead CASCADE")
        cursor.execute("UPDATE labeling_clip SET status = 'queued' WHERE status <> 'queued'")
        cursor.execute("VACUUM ANALYZE labeling_clip")


def client_process(indices: list[int], seconds: float, interval: float, ready, go, out: mp.Queue) -> None:
    """One app process serving several reviewer clients, one thread and database connection each."""
    import threading

    setup_django()
    from django.contrib.auth.models import Group, User
    from django.db import connection

    from labeling.models import Team, TeamMember
    from labeling.review.services import assignment_claim, project_member_add, shift_start
    from labeling.review.submit import Labels, transcript_submit

    # Each client stands for many people: its team's rules are checked on every claim, as in
    # production, but set so that they never refuse one (no pace, no quota, no break).
    team, _ = Team.objects.get_or_create(name="bench", defaults={
        "max_shift_minutes": 24 * 60, "max_clips_per_shift": 10**9, "break_after_minutes": 24 * 60,
        "break_minutes": 1, "min_claim_interval_seconds": 0})
    annotators = []
    for index in indices:
        user, _ = User.objects.get_or_create(username=f"bench-annotator-{index}")
        user.groups.add(Group.objects.get(name="annotator"))
        project_member_add(user=user, role="annotator")
        TeamMember.objects.get_or_create(user=user, defaults={"team": team})
        shift_start(annotator=user)
        annotators.append(user)
    connection.close()
    results = []

    def reviewer(user) -> None:
        claims, submits, clip_ids = [], [], []
        go.wait()
        began = time.perf_counter()
        deadline = began + seconds
        while time.perf_counter() < deadline:
            if interval:  # paced: the k-th claim is due at k * interval, whatever the previous ones took
                due = began + len(claims) * interval
                if due > time.perf_counter():
                    time.sleep(due - time.perf_counter())
            t0 = time.perf_counter()
            assignment = assignment_claim(annotator=user)
            t1 = time.perf_counter()
            if assignment is None:
                break
            transcript_submit(assignment_id=assignment.id, annotator=user, labels=Labels(text="bench transcript"))
            t2 = time.perf_counter()
            claims.append(t1 - t0)
            submits.append(t2 - t1)
            if assignment.purpose == "transcription":  # gold clips and agreement samples are lent again by design
                clip_ids.append(str(assignment.clip_id))
        connection.close()
        results.append((claims, submits, clip_ids))

    threads = [threading.Thread(target=reviewer, args=(user,)) for user in annotators]
    for thread in threads:
        thread.start()
    ready.release()
    for thread in threads:
        thread.join()
    out.put(results)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def one_run(clients: int, processes: int, seconds: float, rate: float) -> dict:
    from django.db import connection

    reset_queue()
    connection.close()
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    ready, go = ctx.Semaphore(0), ctx.Event()
    groups = [list(range(clients))[p::processes] for p in range(processes)]
    procs = [ctx.Process(target=client_process, args=(g, seconds, clients / rate if rate else 0.0, ready, go, out))
             for g in groups if g]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.acquire()
    go.set()
    results = [r for _ in procs for r in out.get(timeout=seconds + 120)]
    for proc in procs:
        proc.join()
    claims = [v for r in results for v in r[0]]
    submits = [v for r in results for v in r[1]]
    clip_ids = [v for r in results for v in r[2]]
    with connection.cursor() as cursor:
        # A clip lent twice for transcription; a gold clip or an agreement sample (a second, blind
        # transcription of a labeled clip) is another purpose and meant to be lent again.
        cursor.execute("SELECT count(*) FROM (SELECT clip_id FROM labeling_assignment WHERE purpose = 'transcription' "
                       "GROUP BY clip_id HAVING count(*) > 1) AS doubled")
        doubled_in_db = cursor.fetchone()[0]
    return {
        "claims": len(claims),
        "claims_per_s": len(claims) / seconds,
        "claim_p50_ms": percentile(claims, 0.50) * 1000,
        "claim_p99_ms": percentile(claims, 0.99) * 1000,
        "submit_p50_ms": percentile(submits, 0.50) * 1000,
        "submit_p99_ms": percentile(submits, 0.99) * 1000,
        "double_claims": (len(clip_ids) - len(set(clip_ids))) + doubled_in_db,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--processes", type=int, default=2, help="app processes the clients' threads share")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=0.0,
                        help="claims per second offered by all clients together; 0 = as fast as they can")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = bench_database_url()
    setup_django()
    started = time.perf_counter()
    seed(args.clips, args.accounts)
    print(f"seeded {args.clips} queued clips in {time.perf_counter() - started:.1f} s", flush=True)
    runs = []
    for number in range(1, args.runs + 1):
        result = one_run(args.clients, args.processes, args.seconds, args.rate)
        runs.append(result)
        print(f"run {number}: " + ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}"
                                            for k, v in result.items()), flush=True)
    print("\nmedian of runs:")
    print("| clients | processes | offered | claims/s | claim p50 ms | claim p99 ms | submit p50 ms | submit p99 ms "
          "| double claims |")
    print("|---|---|---|---|---|---|---|---|---|")
    med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    offered = f"{args.rate:g}/s" if args.rate else "max"
    print(f"| {args.clients} | {args.processes} | {offered} | {med['claims_per_s']:.0f} | {med['claim_p50_ms']:.1f} "
          f"| {med['claim_p99_ms']:.1f} "
          f"| {med['submit_p50_ms']:.1f} | {med['submit_p99_ms']:.1f} | {sum(r['double_claims'] for r in runs)} |")


if __name__ == "__main__":
    main()
