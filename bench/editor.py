"""Editor round-trip benchmark: the annotator page's API calls over HTTP against gunicorn, with
100,000 clips in the queue on PostgreSQL and Redis.

    make bench-editor BENCH_ARGS="--clips 100000 --clients 16 --think 1.0 --seconds 30 --runs 3"

Each client is a signed-in annotator (password and authenticator already confirmed in its session)
doing what the editor does for every clip: claim the next clip ahead and fetch its audio and
waveform peaks, save a draft once, then submit with `next`, which hands over the clip claimed
ahead (whose sound the page already has) in the same request. `--think` is
the mean pause between two of those calls (a person listening and typing; drawn from 0.5 to 1.5
times it, and each client starts at a random moment, as people do not work in step); 0 runs them
back to back.
All 100,000 clips are rows in the queue; the first `--audio-clips` in queue order (the ones served
during the runs) have real encrypted audio, so every audio and peaks call decrypts, watermarks or
reduces real samples. The database is the benchmark's own (voicereview_bench), never the test one.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import multiprocessing as mp
import os
import random
import secrets
import select
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from assign import ROOT, bench_database_url, percentile, reset_queue, seed, setup_django  # noqa: E402

MEDIA = ROOT / "var" / "bench" / "media"
KINDS = ("next", "prefetch", "audio", "peaks", "draft", "submit", "status")
POLL_SECONDS = 1.0  # the editor page asks whether its open clip may still be heard (annotate/watch.js)
POLL_AHEAD_EVERY = 5  # and about the clip claimed ahead every 5th time


def give_audio(count: int, seconds: float) -> None:
    """Store encrypted de-identified audio for the first `count` clips in queue order."""
    import numpy as np
    import soundfile as sf
    from django.db import connection

    from labeling import vault
    from labeling.models import Clip

    rate = 16_000
    t = np.arange(int(rate * seconds)) / rate
    wav = io.BytesIO()
    sf.write(wav, (0.3 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 1.3 * t) > 0)).astype(np.float32), rate,
             format="WAV", subtype="PCM_16")
    ids = list(Clip.objects.order_by("queued_at", "id").values_list("id", flat=True)[:count])
    rows = []
    for clip_id in ids:
        key, wrapped = vault.new_data_key(clip_id)
        rows.append(Clip(id=clip_id, wrapped_key=wrapped, deid_path=vault.store_audio(clip_id, key, "deid",
                                                                                       wav.getvalue()),
                         envelope=vault.seal_envelope(clip_id, key, wav.getvalue()), duration_seconds=seconds))
    Clip.objects.bulk_update(rows, ["wrapped_key", "deid_path", "envelope", "duration_seconds"], batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE labeling_clip")


def annotator_sessions(count: int) -> list[tuple[str, str]]:
    """(session cookie, CSRF token) of `count` annotators signed in with both factors."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import Group, User
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from labeling.models import Team, TeamMember
    from labeling.review.services import project_member_add

    # The team's rules are checked on every claim, as in production, but never refuse one here.
    team, _ = Team.objects.get_or_create(name="bench", defaults={
        "max_shift_minutes": 24 * 60, "max_clips_per_shift": 10**9, "break_after_minutes": 24 * 60,
        "break_minutes": 1, "min_claim_interval_seconds": 0})
    store = import_module(settings.SESSION_ENGINE).SessionStore
    sessions = []
    for index in range(count):
        user, _ = User.objects.get_or_create(username=f"bench-editor-{index}")
        user.groups.add(Group.objects.get(name="annotator"))
        project_member_add(user=user, role="annotator")
        TeamMember.objects.get_or_create(user=user, defaults={"team": team})
        device = TOTPDevice.objects.filter(user=user).first() or TOTPDevice.objects.create(
            user=user, name="bench", confirmed=True)
        session = store()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.create()
        sessions.append((session.session_key, secrets.token_hex(16)))
    return sessions


class Answer:
    """A response as the clients read it: status, body, and the body as JSON."""

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code, self.content = status_code, content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)


class Browser:
    """One kept-alive HTTP/1.1 connection with a page's cookies, as light on the client's CPU as
    the standard library allows: the clients share the machine's cores with the stack under test,
    so every millisecond they spend is one the server cannot. A connection the server closed
    while idle (gunicorn's keep-alive ends after a few quiet seconds) is replaced before it is
    used; a request that finds it closed only as it is sent goes once more on a new one."""

    def __init__(self, base: str, cookies: dict[str, str], headers: dict[str, str] | None = None) -> None:
        address = urlsplit(base)
        self.prefix = address.path.rstrip("/")
        self.connection = http.client.HTTPConnection(address.hostname, address.port or 80, timeout=30)
        self.cookies = dict(cookies)
        self.headers = {"Accept": "*/*", **(headers or {})}  # as a page's fetch() sends

    def request(self, method: str, path: str, headers: dict | None = None, json_body=None) -> Answer:
        body = None if json_body is None else json.dumps(json_body).encode()
        sent = {**self.headers, **(headers or {}),
                "Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}
        if body is not None:
            sent["Content-Type"] = "application/json"
        for attempt in (1, 2):
            reused = self._drop_if_closed()
            try:
                self.connection.request(method, self.prefix + path, body=body, headers=sent)
                response = self.connection.getresponse()
                content = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                if attempt == 2 or not reused:
                    raise
                continue
            for cookie in response.headers.get_all("Set-Cookie") or ():
                name, _, rest = cookie.partition("=")
                if name in self.cookies:
                    self.cookies[name] = rest.split(";", 1)[0]
            return Answer(response.status, content)
        raise AssertionError("unreachable")

    def _drop_if_closed(self) -> bool:
        """Close the connection if the server ended it (its end-of-stream is waiting to be read);
        whether a still-open connection is being reused."""
        sock = self.connection.sock
        if sock is None:
            return False
        if select.select([sock], [], [], 0)[0]:
            self.connection.close()
            return False
        return True


def client_process(base: str, sessions: list, seconds: float, think: float, ready, go, out, poll: bool = False) -> None:
    """Annotator threads in one process; with `poll`, each also asks about its open clip's status
    once a second, as the editor page does, from a connection of its own."""
    timings = {kind: [] for kind in KINDS}
    errors = []
    lock = threading.Lock()

    def annotator(cookie: str, csrf: str) -> None:
        cookies = {"sessionid": cookie, "csrftoken": csrf}
        browser = Browser(base, cookies, {"X-CSRFToken": csrf})
        mine = {kind: [] for kind in KINDS}

        def fetch_sound(assignment):
            token = {"X-Audio-Token": assignment["audio_token"]}
            timed("audio", "GET", f"assignments/{assignment['id']}/audio", headers=token)
            timed("peaks", "GET", f"assignments/{assignment['id']}/peaks?bins=800", headers=token)

        def timed(kind, method, path, client=browser, **kwargs):
            started = time.perf_counter()
            response = client.request(method, f"/api/v1/{path}", **kwargs)
            mine[kind].append(time.perf_counter() - started)
            if response.status_code >= 400:
                errors.append(f"{kind} {response.status_code} {response.text[:120]}")
            return response

        page = {"open": None, "ahead": None}  # what the page watches
        finished = threading.Event()

        def watch() -> None:
            asker = Browser(base, browser.cookies, {"X-CSRFToken": csrf})
            ticks = 0
            while not finished.wait(POLL_SECONDS):
                ticks += 1
                for watched in (page["open"], page["ahead"] if ticks % POLL_AHEAD_EVERY == 0 else None):
                    if watched:
                        timed("status", "GET", f"assignments/{watched}/status", client=asker)

        browser.request("POST", "/api/v1/shifts")
        signed_in.release()
        go.wait()
        end = time.monotonic() + seconds
        pace = random.Random(cookie)
        time.sleep(pace.uniform(0, 2 * think))  # people do not start in step
        current = timed("next", "POST", "assignments/next").json()
        ready = None  # the clip whose sound the page already has
        watcher = threading.Thread(target=watch, daemon=True)
        if poll:
            watcher.start()
        while time.monotonic() < end and current:
            page["open"], page["ahead"] = current["id"], None
            if not ready or ready != current["id"]:
                fetch_sound(current)
            time.sleep(pace.uniform(0.5, 1.5) * think)
            ahead = timed("prefetch", "POST", "assignments/prefetch")
            ready = None
            if ahead.status_code == 200:
                fetch_sound(ahead.json())
                ready = page["ahead"] = ahead.json()["id"]
            timed("draft", "PUT", f"assignments/{current['id']}/draft", json_body={"text": "turn on the"})
            time.sleep(pace.uniform(0.5, 1.5) * think)
            body = timed("submit", "POST", f"assignments/{current['id']}/submit",
                         json_body={"text": "turn on the porch light", "next": True}).json()
            current = body.get("next")
        finished.set()
        if poll:
            watcher.join()
        with lock:
            for kind in KINDS:
                timings[kind].extend(mine[kind])

    signed_in = threading.Semaphore(0)
    threads = [threading.Thread(target=annotator, args=session) for session in sessions]
    for thread in threads:
        thread.start()
    for _ in threads:
        signed_in.acquire()
    ready.release()
    for thread in threads:
        thread.join()
    out.put((timings, errors[:5], len(errors)))


def start_server(port: int, workers: int, threads: int, env: dict, worker_class: str | None = None) -> subprocess.Popen:
    """gunicorn: its sync worker with one thread (no keep-alive), its threaded worker with more or
    when `worker_class` says gthread (keep-alive, a thread of its own watching the connections)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--threads", str(threads), "--log-level", "warning",
         *(["--worker-class", worker_class] if worker_class else [])],
        cwd=ROOT, env=env, start_new_session=True)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not start")


def one_run(base: str, sessions: list, processes: int, seconds: float, think: float) -> dict:
    from django.db import connection

    reset_queue()
    connection.close()
    ctx = mp.get_context("spawn")
    out, ready, go = ctx.Queue(), ctx.Semaphore(0), ctx.Event()
    groups = [sessions[p::processes] for p in range(processes)]
    procs = [ctx.Process(target=client_process, args=(base, g, seconds, think, ready, go, out)) for g in groups if g]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.acquire()  # every annotator's shift has started
    go.set()
    parts = [out.get(timeout=seconds + 300) for _ in procs]
    for proc in procs:
        proc.join()
    timings = {kind: [v for part in parts for v in part[0][kind]] for kind in KINDS}
    every = [v for kind in KINDS for v in timings[kind]]
    result = {"clips": len(timings["submit"]), "clips_per_s": len(timings["submit"]) / seconds,
              "errors": sum(part[2] for part in parts)}
    for kind in KINDS:
        if timings[kind]:
            result[f"{kind}_p50_ms"] = percentile(timings[kind], 0.50) * 1000
            result[f"{kind}_p99_ms"] = percentile(timings[kind], 0.99) * 1000
    result["all_p99_ms"] = percentile(every, 0.99) * 1000
    for part in parts:
        for line in part[1]:
            print("  error:", line, flush=True)
    return result


def stack_arguments(parser: argparse.ArgumentParser, *, clips: int, accounts: int, audio_clips: int, threads: int,
                    port: int, workers: int = 4) -> None:
    """The options of a benchmark that serves seeded clips through gunicorn to annotator threads."""
    parser.add_argument("--clips", type=int, default=clips)
    parser.add_argument("--accounts", type=int, default=accounts)
    parser.add_argument("--audio-clips", type=int, default=audio_clips, help="clips, first in the queue, given audio")
    parser.add_argument("--audio-seconds", type=float, default=3.0)
    parser.add_argument("--processes", type=int, default=2, help="client processes the annotators' threads share")
    parser.add_argument("--workers", type=int, default=workers, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=threads,
                        help="threads per gunicorn worker (1: gunicorn's sync worker, unless --worker-class)")
    parser.add_argument("--worker-class", choices=["sync", "gthread"],
                        help="gunicorn's worker class, if not its own choice")
    parser.add_argument("--port", type=int, default=port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    stack_arguments(parser, clips=100_000, accounts=20_000, audio_clips=4_000, threads=1, port=8765)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--think", type=float, default=1.0, help="seconds between an annotator's calls")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = bench_database_url()
    os.environ["MEDIA_ROOT"] = str(MEDIA)
    os.environ.setdefault("SECRET_KEY", "bench-" + "k" * 50)
    setup_django()
    started = time.perf_counter()
    seed(args.clips, args.accounts)
    give_audio(args.audio_clips, args.audio_seconds)
    sessions = annotator_sessions(args.clients)
    print(f"seeded {args.clips} queued clips ({args.audio_clips} with audio) in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    server = start_server(args.port, args.workers, args.threads, dict(os.environ), args.worker_class)
    try:
        runs = []
        for number in range(1, args.runs + 1):
            result = one_run(f"http://127.0.0.1:{args.port}", sessions, args.processes, args.seconds, args.think)
            runs.append(result)
            print(f"run {number}: " + ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}"
                                                for k, v in result.items()), flush=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    print("\nmedian of runs:")
    print("| clients | think s | clips/s | prefetch p99 | audio p50 / p99 | peaks p50 / p99 | draft p99 | "
          "submit+next p50 / p99 | all calls p99 | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.clients} | {args.think:g} | {med['clips_per_s']:.1f} | {med['prefetch_p99_ms']:.1f} "
          f"| {med['audio_p50_ms']:.1f} / {med['audio_p99_ms']:.1f} | {med['peaks_p50_ms']:.1f} / "
          f"{med['peaks_p99_ms']:.1f} | {med['draft_p99_ms']:.1f} | {med['submit_p50_ms']:.1f} / "
          f"{med['submit_p99_ms']:.1f} | {med['all_p99_ms']:.1f} | {sum(r['errors'] for r in runs)} |")


if __name__ == "__main__":
    main()
