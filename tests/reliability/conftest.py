"""The real stack in processes of its own for fault tests: gunicorn, a Celery worker and a Redis
server that the test may stop and start, on the test database (or a PostgreSQL of the test's own).

The test process writes its set-up rows through the ORM (committed: these tests use the
transactional database) and then talks to the stack only as a device or an operator would: over
HTTP, and through manage.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.db import connection

from labeling.intake.services import ingest_key_create
from labeling.models import Clip
from tests.backing import free_port
from tests.factories import make_subject, metadata

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def wait_until(condition, *, timeout: float, what: str, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(step)


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_database_url() -> str:
    """The database pytest-django made for this run, as a URL other processes can use."""
    cfg = connection.settings_dict
    user = f"{cfg['USER']}@" if cfg["USER"] else ""
    return f"postgres://{user}{cfg['HOST'] or '127.0.0.1'}:{cfg['PORT'] or 5432}/{cfg['NAME']}"


class RedisServer:
    """A Redis server of the test's own that keeps nothing on disk, as the broker is run here."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        server = shutil.which("redis-server")
        if not server:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        self.process = subprocess.Popen([server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no"], stdout=subprocess.DEVNULL)
        wait_until(lambda: port_answers(self.port), timeout=15, what="Redis to answer")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


class Stack:
    """Web and worker processes sharing one database, one broker and one storage folder."""

    def __init__(self, folder: Path, database_url: str, redis: RedisServer, **settings: str) -> None:
        self.folder = folder
        self.media = folder / "media"
        self.media.mkdir(exist_ok=True)
        self.redis = redis
        # Served over plain HTTP on 127.0.0.1 on purpose: without saying so, a PostgreSQL deployment
        # marks its cookies Secure and a client (requests) keeps them from plain HTTP. Storage is the
        # stack's own folder unless `settings` name object storage (STORAGE_URL).
        self.env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis.url,
                    "MEDIA_ROOT": str(self.media), "STORAGE_URL": "", "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
                    "METRICS_DIR": str(folder / "metrics"), "INSECURE_PLAIN_HTTP": "true", **settings}
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.port = free_port()
        self.logs: list[Path] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log = self.folder / f"{name}-{len(self.logs)}.log"
        self.logs.append(log)
        handle = log.open("wb")
        return subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def start_web(self) -> None:
        self.web = self._spawn("web", [str(BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{self.port}",
                                       "--workers", "1", "--threads", "4", "--timeout", "60"])
        wait_until(lambda: self._answers("/healthz"), timeout=60, what="the web server")

    def _answers(self, path: str) -> bool:
        if self.web is not None and self.web.poll() is not None:
            raise AssertionError(f"the web server exited:\n{self.log_text()}")
        try:
            return requests.get(self.url + path, timeout=2).status_code == 200
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still loading the app
            return False

    def start_worker(self) -> subprocess.Popen:
        self.worker = self._spawn("worker", [str(BIN / "celery"), "-A", "workers", "worker", "--concurrency", "1",
                                             "--loglevel", "INFO", "--without-heartbeat", "--without-mingle",
                                             "--without-gossip"])
        return self.worker

    def pool_children(self) -> list[int]:
        """Pids of the worker's pool processes (the ones that run tasks)."""
        assert self.worker is not None
        out = subprocess.run(["pgrep", "-P", str(self.worker.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def kill_worker(self) -> None:
        """SIGKILL the worker and its pool at once, as the kernel's out-of-memory killer would."""
        assert self.worker is not None
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(10)
        self.worker = None

    def manage(self, *args: str, timeout: float = 120) -> str:
        """Run a manage.py command in the stack's environment (as cron or an operator would)."""
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                                text=True, timeout=timeout)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def reconcile(self) -> int:
        """What Celery beat runs every minute: clips stuck in the pipeline are enqueued again."""
        return int(self.manage("shell", "-c", "from labeling.intake.services import clips_reconcile; "
                                              "print(clips_reconcile())").strip().splitlines()[-1])

    def assert_logs_hold_no_personal_data(self) -> None:
        """Everything the processes wrote holds none of the demo owner's identifiers."""
        written = "\n".join(log.read_text(errors="replace") for log in self.logs if log.exists())
        assert '"event": "http_request"' in written  # the scan reads real, structured logs
        for secret in ("acct-7731", "Marguerite", "SN-Q9X4-77821", "owner-acct-7731"):
            assert secret not in written, secret

    def log_text(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}" for log in self.logs
                         if log.exists())

    def stop(self) -> None:
        for process in (self.worker, self.web):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)
        self.worker = self.web = None


@pytest.fixture
def redis_server():
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stack(transactional_db, tmp_path, redis_server, request):
    """The stack on the test database. Test data must be committed before the processes read it."""
    running = Stack(tmp_path, test_database_url(), redis_server)
    yield running
    running.stop()
    if hasattr(request.node, "rep_call") and request.node.rep_call.failed:
        print(running.log_text())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report


@pytest.fixture
def device(stack) -> str:
    """A consenting owner (acct-7731), the web server running, and a device key to post with."""
    make_subject()
    stack.start_web()
    return ingest_key_create(name="fault-test device")[1]


def post_clip(stack, key: str, audio: bytes, account: str = "acct-7731") -> requests.Response:
    return requests.post(f"{stack.url}/api/v1/clips", headers={"Authorization": f"Api-Key {key}"},
                         files={"audio": ("clip.wav", audio, "audio/wav")},
                         data={"metadata": json.dumps(metadata(account=account))}, timeout=30)


def status_of(clip_id: str) -> str:
    return Clip.objects.values_list("status", flat=True).get(pk=clip_id)
