"""What one call costs, alone: one annotator's calls, one after another, to one web process.

    make bench-calls BENCH_ARGS="--runs 3"

The load benchmark measures web CPU per call with 200 annotators on two shared cores, where the
machine's other work and the queue move the number by 10-20% from run to run. This one sends one
annotator's calls in sequence (no think time, no other client) to a gunicorn of one process and
one thread (connections kept alive, as the load benchmark's default), and reads from /proc the CPU
that process used for them, and the CPU of PostgreSQL's processes:

- the status poll: `--polls` GETs of the open clip's status;
- the editor's calls: `--cycles` times what the page does for a clip (claim the next ahead, fetch
  its audio and waveform peaks, save a draft of the current one, submit it with `next`).

Also counted: the transactions PostgreSQL committed per poll (every statement outside a
transaction is one), which shows the round trips a poll makes. It uses a database of its own
(voicereview_bench_calls, 20,000 queued clips from 2,000 owners, 300 of them with 4 s of audio)
and Redis database 12. Medians of `--runs`, each run with a fresh gunicorn.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from assign import ROOT, bench_database_url, bench_stack_env, reset_queue, seed  # noqa: E402
from editor import Answer, Browser, annotator_sessions, give_audio, start_server  # noqa: E402

DATABASE = "voicereview_bench_calls"
CLIPS, OWNERS, WITH_AUDIO = 20_000, 2_000, 300
TICK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def postgres_ticks() -> int:
    total = 0
    for pid in subprocess.run(["pgrep", "-x", "postgres"], capture_output=True, text=True).stdout.split():
        try:
            total += cpu_ticks(int(pid))
        except (OSError, IndexError, ValueError):
            pass  # a backend that ended meanwhile
    return total


def committed() -> int:
    """Transactions the benchmark's database committed so far (statistics lag by up to 0.5 s)."""
    import psycopg

    url = bench_database_url(DATABASE).replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").fetchone()[0]


def one_run(session: tuple[str, str], polls: int, cycles: int, port: int) -> dict:
    from django.db import connection

    reset_queue()
    connection.close()
    server = start_server(port, 1, 1, dict(os.environ), "gthread")
    try:
        worker = int(subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()[0])
        cookie, csrf = session
        browser = Browser(f"http://127.0.0.1:{port}/api/v1", {"sessionid": cookie, "csrftoken": csrf},
                          {"X-CSRFToken": csrf})

        def call(method: str, path: str, **kwargs) -> Answer:
            response = browser.request(method, f"/{path}", **kwargs)
            if response.status_code >= 400:
                raise SystemExit(f"{method} {path}: {response.status_code} {response.text[:200]}")
            return response

        call("POST", "shifts")
        current = call("POST", "assignments/next").json()
        status = f"assignments/{current['id']}/status"
        for _ in range(50):  # warm: statements prepared, caches filled
            call("GET", status)
        time.sleep(0.6)
        web, database, commits = cpu_ticks(worker), postgres_ticks(), committed()
        for _ in range(polls):
            call("GET", status)
        web, database = cpu_ticks(worker) - web, postgres_ticks() - database
        time.sleep(0.6)
        commits = committed() - commits - 1  # less the reading's own
        result = {"poll_web_ms": web / TICK / polls * 1000, "poll_postgres_ms": database / TICK / polls * 1000,
                  "poll_transactions": commits / polls}

        web, database = cpu_ticks(worker), postgres_ticks()
        for _ in range(cycles):
            ahead = call("POST", "assignments/prefetch").json()
            token = {"X-Audio-Token": ahead["audio_token"]}
            call("GET", f"assignments/{ahead['id']}/audio", headers=token)
            call("GET", f"assignments/{ahead['id']}/peaks?bins=800", headers=token)
            call("PUT", f"assignments/{current['id']}/draft", json_body={"text": "turn on the"})
            current = call("POST", f"assignments/{current['id']}/submit",
                           json_body={"text": "turn on the porch light", "next": True}).json()["next"]
        calls = 5 * cycles
        result |= {"editor_web_ms": (cpu_ticks(worker) - web) / TICK / calls * 1000,
                   "editor_postgres_ms": (postgres_ticks() - database) / TICK / calls * 1000}
        return result
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--polls", type=int, default=3000)
    parser.add_argument("--cycles", type=int, default=100, help="clips worked through (5 editor calls each)")
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    if args.cycles >= WITH_AUDIO:
        parser.error(f"--cycles must stay under {WITH_AUDIO}: only that many clips carry audio")

    bench_stack_env(database=DATABASE, redis_url=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
                    media=ROOT / "var" / "bench" / "calls-media")
    from django.core.management import call_command

    from labeling.models import Clip

    call_command("migrate", verbosity=0)
    if Clip.objects.count() != CLIPS:
        seed(CLIPS, OWNERS)
    reset_queue()
    give_audio(WITH_AUDIO, 4.0)
    session = annotator_sessions(1)[0]
    runs = [one_run(session, args.polls, args.cycles, args.port) for _ in range(args.runs)]
    summary = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    print(f"{args.runs} runs of {args.polls} polls and {args.cycles} clips (x 5 editor calls), medians (runs):")
    for key, value in summary.items():
        print(f"  {key}: {value:.3f} ({', '.join(f'{run[key]:.3f}' for run in runs)})")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "runs": runs,
                                         "medians": summary}, indent=1))


if __name__ == "__main__":
    main()
