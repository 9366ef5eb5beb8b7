"""Load on the real stack: gunicorn, a Celery worker and beat, PostgreSQL and Redis on this machine,
with a million queued clips and 200 annotators claiming, streaming and submitting.

    make bench-load BENCH_ARGS="--clips 1000000 --annotators 200 --minutes 10 --think 5"

Each annotator is a signed-in session (password and authenticator confirmed) doing what the editor
page does for every clip: claim it (the first) or have it handed over at submit, fetch its audio
(decrypted and watermarked for that assignment) and waveform peaks, claim the next clip ahead and
fetch its sound, save a draft, submit with `next`. `--think` is the mean pause a person spends
listening and typing before each of the two writes (drawn from 0.5 to 1.5 times it; annotators
start at random moments). The clock starts when every annotator has started a shift.

Reported: calls per second and clips per second; p50, p95 and p99 per endpoint, measured by the
client around each HTTP call; errors (any answer of 400 or more, or no answer); CPU (100% = one
core) and memory (proportional set size) of the web, worker, PostgreSQL, Redis and client processes, sampled
every two seconds. The database is the benchmark's own (voicereview_bench_load), Redis database 13.

With `--s3` the audio lives in an S3-compatible server process started on 127.0.0.1 (moto's
standalone server, spoken to over HTTP), not the local folder. With `--nodes 2` (and `--s3`) the
stack runs as two nodes would: each a gunicorn of half the `--workers` and a Celery worker, with a
VAR_DIR of its own and no folder shared, on the same PostgreSQL, Redis and S3 server; beat runs
once, on the first; each client process speaks to one node, so the annotators are split evenly.

    make bench-load BENCH_ARGS="--clips 1000000 --annotators 200 --minutes 10 --reuse --s3 --nodes 2"
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from assign import ROOT, bench_stack_env, percentile, reset_queue, seed  # noqa: E402
from editor import KINDS, annotator_sessions, client_process, give_audio, stack_arguments, start_server  # noqa: E402

sys.path.insert(0, str(ROOT))
from tests.backing import S3_CREDENTIALS, S3_REGION, s3_server  # noqa: E402

MEDIA = ROOT / "var" / "bench" / "load-media"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- resources


def _children(pid: int) -> list[int]:
    found, frontier = [pid], [pid]
    while frontier:
        out = subprocess.run(["pgrep", "-P", ",".join(map(str, frontier))], capture_output=True, text=True).stdout
        frontier = [int(p) for p in out.split()]
        found.extend(frontier)
    return found


def _named(name: str) -> list[int]:
    out = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _cpu_ticks_and_memory(pid: int) -> tuple[int, int] | None:
    """CPU ticks used so far and proportional memory (PSS: shared pages split among their users,
    so PostgreSQL's shared buffers count once for the server, not once per backend); None once
    the process has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        pss_kb = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
                      if line.startswith("Pss:"))
        return int(fields[11]) + int(fields[12]), pss_kb * 1024
    except (OSError, IndexError, ValueError, StopIteration):
        return None


class ResourceSampler(threading.Thread):
    """CPU share and memory (PSS) of named groups of processes, sampled every `interval` s."""

    def __init__(self, groups, interval: float = 2.0) -> None:
        super().__init__(daemon=True)
        self.groups = groups  # name -> callable returning pids
        self.interval = interval
        self.stopped = threading.Event()
        self.cpu = {name: [] for name in groups}
        self.rss = {name: [] for name in groups}

    def _snapshot(self) -> dict:
        snap = {}
        for name, pids in self.groups.items():
            ticks = rss = 0
            per_pid = {}
            for pid in pids():
                read = _cpu_ticks_and_memory(pid)
                if read is None:  # a process that ended counts no more (not as minus all it used)
                    continue
                t, r = read
                per_pid[pid] = t
                ticks += t
                rss += r
            snap[name] = (per_pid, rss)
        return snap

    def run(self) -> None:
        before, then = self._snapshot(), time.monotonic()
        while not self.stopped.wait(self.interval):
            now_snap, now = self._snapshot(), time.monotonic()
            for name, (per_pid, rss) in now_snap.items():
                used = sum(t - before[name][0].get(pid, t) for pid, t in per_pid.items())
                self.cpu[name].append(100.0 * used / CLOCK_TICKS / (now - then))
                self.rss[name].append(rss)
            before, then = now_snap, now

    def summary(self) -> dict:
        result = {}
        for name in self.groups:
            cpu, rss = self.cpu[name], self.rss[name]
            result[name] = {"cpu_mean_pct": sum(cpu) / len(cpu) if cpu else 0.0, "cpu_max_pct": max(cpu, default=0),
                            "memory_max_mb": max(rss, default=0) / 2**20}
        return result


# ---------------------------------------------------------------- the run


def queue_depth() -> dict[str, int]:
    from labeling.selectors import clip_status_counts

    return clip_status_counts()


def run_load(bases: list[str], sessions: list, processes: int, seconds: float, think: float,
             sampler_groups: dict, poll: bool) -> dict:
    """Client process p speaks to node p mod len(bases)."""
    from django.db import connection

    connection.close()
    ctx = mp.get_context("spawn")
    out, ready, go = ctx.Queue(), ctx.Semaphore(0), ctx.Event()
    groups = [sessions[p::processes] for p in range(processes)]
    procs = [ctx.Process(target=client_process, args=(bases[p % len(bases)], g, seconds, think, ready, go, out, poll))
             for p, g in enumerate(groups) if g]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.acquire()  # every annotator's shift has started
    sampler_groups["clients"] = lambda: [pid for proc in procs for pid in _children(proc.pid)]
    sampler = ResourceSampler(sampler_groups)
    sampler.start()
    started = time.monotonic()
    go.set()
    parts = [out.get(timeout=seconds + 600) for _ in procs]
    elapsed = time.monotonic() - started
    sampler.stopped.set()
    sampler.join()
    for proc in procs:
        proc.join()
    timings = {kind: [v for part in parts for v in part[0][kind]] for kind in KINDS}
    calls = sum(len(v) for v in timings.values())
    result = {"seconds": elapsed, "clips": len(timings["submit"]), "clips_per_s": len(timings["submit"]) / elapsed,
              "calls": calls, "calls_per_s": calls / elapsed, "errors": sum(part[2] for part in parts),
              "error_samples": [line for part in parts for line in part[1]][:10], "endpoints": {},
              "resources": sampler.summary()}
    for kind in KINDS:
        if timings[kind]:
            result["endpoints"][kind] = {
                "count": len(timings[kind]),
                **{f"p{int(q * 100)}_ms": percentile(timings[kind], q) * 1000 for q in (0.50, 0.95, 0.99)}}
    every = [v for kind in KINDS for v in timings[kind]]
    editor_calls = calls - len(timings["status"])
    web = result["resources"]["web (gunicorn)"]["cpu_mean_pct"] / 100 * elapsed
    result["web_cpu_ms_per_call"] = 1000 * web / calls
    result["web_cpu_ms_per_editor_call"] = 1000 * web / editor_calls if not timings["status"] else None
    result["endpoints"]["every call"] = {
        "count": len(every), **{f"p{int(q * 100)}_ms": percentile(every, q) * 1000 for q in (0.50, 0.95, 0.99)}}
    return result


ENDPOINT_NAMES = {
    "next": "POST /assignments/next (first claim)",
    "prefetch": "POST /assignments/prefetch (claim ahead)",
    "audio": "GET /assignments/<id>/audio",
    "peaks": "GET /assignments/<id>/peaks",
    "draft": "PUT /assignments/<id>/draft",
    "submit": "POST /assignments/<id>/submit (+ next)",
    "status": "GET /assignments/<id>/status (page's poll)",
    "every call": "every call",
}


def print_tables(args, result: dict) -> None:
    shape = (f"{args.nodes} nodes, each gunicorn {args.workers // args.nodes}" if args.nodes > 1
             else f"gunicorn {args.workers}")
    print(f"\n{args.annotators} annotators, think {args.think:g} s, {result['seconds']:.0f} s, "
          f"{shape} x {args.threads} thread(s) ({args.worker_class or 'default'} worker), "
          f"audio in {'an S3 server (moto)' if args.s3 else 'the local folder'}, "
          f"{args.clips:,} queued clips: {result['clips_per_s']:.2f} clips/s, {result['calls_per_s']:.1f} calls/s, "
          f"errors {result['errors']} of {result['calls']} calls; web CPU {result['web_cpu_ms_per_call']:.1f} ms "
          f"per call" + (" (no status polls: editor calls only)" if result["web_cpu_ms_per_editor_call"] else ""))
    print("\n| endpoint | calls | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|")
    for kind, row in result["endpoints"].items():
        print(f"| {ENDPOINT_NAMES[kind]} | {row['count']:,} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} "
              f"| {row['p99_ms']:.1f} |")
    print("\n| processes | CPU mean % | CPU max % | memory (PSS) max MB |\n|---|---|---|---|")
    for name, row in result["resources"].items():
        print(f"| {name} | {row['cpu_mean_pct']:.0f} | {row['cpu_max_pct']:.0f} | {row['memory_max_mb']:.0f} |")
    for line in result["error_samples"]:
        print("  error:", line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    stack_arguments(parser, clips=1_000_000, accounts=50_000, audio_clips=20_000, threads=1, workers=6, port=8766)
    parser.set_defaults(worker_class="gthread")  # one thread a process, connections kept alive
    parser.add_argument("--annotators", type=int, default=200)
    parser.add_argument("--think", type=float, default=10.0, help="mean seconds before each write")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument("--reuse", action="store_true", help="keep the clips of an earlier run (reset the queue)")
    parser.add_argument("--no-poll", action="store_true",
                        help="pages do not ask about their clip's status each second (only the editor's calls)")
    parser.add_argument("--s3", action="store_true",
                        help="audio in an S3-compatible server process on 127.0.0.1 (moto), not the local folder")
    parser.add_argument("--nodes", type=int, default=1,
                        help="nodes, each a gunicorn of --workers/NODES processes and a Celery worker (needs --s3)")
    args = parser.parse_args()
    if args.nodes < 1 or args.workers % args.nodes:
        parser.error(f"--workers ({args.workers}) must split evenly among --nodes ({args.nodes})")
    if args.nodes > 1 and not args.s3:
        parser.error("nodes share no folder: --nodes above 1 needs --s3")
    args.processes = max(args.processes, args.nodes)  # every node has clients

    s3 = None
    if args.s3:
        s3, endpoint = s3_server(bucket="voicereview-bench")
        os.environ.update(S3_CREDENTIALS, STORAGE_URL=f"s3://voicereview-bench/voices?endpoint={endpoint}"
                                                      f"&region={S3_REGION}")
    try:
        run_stack(args, s3)
    finally:
        if s3:
            s3.terminate()
            s3.wait(timeout=30)


def node_environment(index: int, nodes: int) -> dict:
    """One node's environment: the shared services and keys from this process's; with several
    nodes, a VAR_DIR (and local folder) of the node's own."""
    from django.conf import settings

    env = dict(os.environ)
    if nodes > 1:
        var = Path(tempfile.mkdtemp(prefix=f"bench-node-{index}-"))
        env.update(VAR_DIR=str(var), MEDIA_ROOT=str(var / "media"),
                   MASTER_KEY=base64.b64encode(settings.MASTER_KEY).decode(),
                   LEDGER_KEY=base64.b64encode(settings.LEDGER_KEY).decode())
    return env


def run_stack(args, s3: subprocess.Popen | None) -> None:
    bench_stack_env(database="voicereview_bench_load",
                    redis_url=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"), media=MEDIA)
    from django.core.management import call_command

    from labeling.models import Clip

    started = time.perf_counter()
    call_command("migrate", verbosity=0)  # a new database has no tables to count yet
    if args.reuse and Clip.objects.count() == args.clips:
        reset_queue()
    else:
        seed(args.clips, args.accounts)
    give_audio(args.audio_clips, args.audio_seconds)  # as the code under test stores it
    sessions = annotator_sessions(args.annotators)
    print(f"{args.clips:,} queued clips ({args.audio_clips:,} with audio) ready in "
          f"{time.perf_counter() - started:.0f} s: {queue_depth()}", flush=True)

    celery = str(Path(sys.executable).parent / "celery")
    servers, workers, envs = [], [], [node_environment(index, args.nodes) for index in range(args.nodes)]
    for index, env in enumerate(envs):
        servers.append(start_server(args.port + index, args.workers // args.nodes, args.threads, env,
                                    args.worker_class))
        workers.append(subprocess.Popen([celery, "-A", "workers", "worker", "--concurrency", "1", "--loglevel",
                                         "WARNING", "--hostname", f"node{index}@%h"],
                                        cwd=ROOT, env=env, start_new_session=True))
    beat_dir = tempfile.mkdtemp(prefix="bench-beat-")
    beat = subprocess.Popen([celery, "-A", "workers", "beat", "--loglevel", "WARNING", "--schedule",
                             f"{beat_dir}/schedule"], cwd=ROOT, env=envs[0],
                            start_new_session=True)
    groups = {"web (gunicorn)": lambda: [pid for server in servers for pid in _children(server.pid)],
              "Celery worker + beat": lambda: [pid for p in (*workers, beat) for pid in _children(p.pid)],
              "PostgreSQL": lambda: _named("postgres"), "Redis": lambda: _named("redis-server")}
    if s3:
        groups["S3 server (moto)"] = lambda: _children(s3.pid)
    try:
        result = run_load([f"http://127.0.0.1:{args.port + index}" for index in range(args.nodes)], sessions,
                          args.processes, args.minutes * 60, args.think, groups, poll=not args.no_poll)
    finally:
        for process in (*servers, *workers, beat):
            os.killpg(process.pid, signal.SIGTERM)
        for process in (*servers, *workers, beat):
            process.wait(timeout=60)
        own_folders = [env["VAR_DIR"] for env in envs] if args.nodes > 1 else []  # one node uses the bench's
        for folder in (beat_dir, *own_folders):
            shutil.rmtree(folder, ignore_errors=True)
    result["queue_after"] = queue_depth()
    print_tables(args, result)
    print(f"\nclips per state afterwards: {result['queue_after']}")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, **result}, indent=1))


if __name__ == "__main__":
    main()
