"""Make sure PostgreSQL and Redis answer, starting throwaway ones if need be, then run the suite.

    python tests/backing.py [-- PYTEST_ARGS]      run pytest
    python tests/backing.py --run -- COMMAND ...  run any command with the same services

Defaults: DATABASE_URL=postgres://127.0.0.1:5432/test and REDIS_URL=redis://127.0.0.1:6379/15.
Where nothing answers there but the server programs are installed, throwaway instances are started
in a temporary folder and removed afterwards. Where the programs are missing it says what to install.
The suite (not --run) also gets S3-compatible object storage: unless STORAGE_URL is set, a
throwaway S3 server process (moto in server mode, spoken to over HTTP like AWS S3) with one bucket.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
INSTALL_HINT = "Install them with: apt-get install postgresql redis-server (Debian/Ubuntu)."


def answers(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port), timeout=2):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if answers(url):
            return
        time.sleep(0.2)
    raise SystemExit(f"Started a throwaway server for {url} but it never answered.")


TEST_BUCKET = "voicereview-test"
S3_REGION = "us-east-1"
S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "voicereview-test", "AWS_SECRET_ACCESS_KEY": "voicereview-test"}


def s3_server(port: int | None = None, bucket: str = TEST_BUCKET) -> tuple[subprocess.Popen, str]:
    """Start an S3-compatible server process on 127.0.0.1 (moto's standalone server) and create
    `bucket` in it through the S3 API. Returns the process and its endpoint URL."""
    port = port or free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    wait_for(endpoint, 30)
    import boto3

    boto3.client("s3", endpoint_url=endpoint, region_name=S3_REGION,
                 aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                 aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]).create_bucket(Bucket=bucket)
    return process, endpoint


class Throwaway:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="voicereview-services-"))
        self.stops: list = []

    def postgres(self) -> str:
        initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
        if not (initdb and pg_ctl):
            raise SystemExit(f"PostgreSQL does not answer and its server programs are not installed. {INSTALL_HINT}")
        data = self.folder / "pg"
        data.mkdir()
        port = free_port()
        prefix: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise SystemExit("Running as root needs a 'postgres' system user to start a throwaway "
                                 "PostgreSQL.") from None
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            os.chown(data, owner.pw_uid, owner.pw_gid)
            prefix = ["runuser", "-u", "postgres", "--"]
        subprocess.run([*prefix, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                       check=True, stdout=subprocess.DEVNULL)
        options = f"-p {port} -c listen_addresses=127.0.0.1 -k {data} -c fsync=off"
        self.pg_ctl = [*prefix, pg_ctl, "-D", str(data)]
        self.pg_start = [*self.pg_ctl, "-o", options, "-w", "-l", str(data / "log"), "start"]
        subprocess.run(self.pg_start, check=True, stdout=subprocess.DEVNULL)
        self.stops.append(self.postgres_stop)
        url = f"postgres://postgres@127.0.0.1:{port}/postgres"
        wait_for(url, 30)
        print(f"Started a throwaway PostgreSQL on port {port}.", flush=True)
        return url

    def postgres_stop(self) -> None:
        subprocess.run([*self.pg_ctl, "-m", "fast", "-w", "stop"], stdout=subprocess.DEVNULL, check=False)

    def postgres_start(self) -> None:
        """Start the throwaway PostgreSQL again after postgres_stop (the fault tests restart it)."""
        subprocess.run(self.pg_start, check=True, stdout=subprocess.DEVNULL)

    def redis(self) -> str:
        server = shutil.which("redis-server")
        if not server:
            raise SystemExit(f"Redis does not answer and redis-server is not installed. {INSTALL_HINT}")
        port = free_port()
        process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                    "--appendonly", "no"], stdout=subprocess.DEVNULL)
        self.stops.append(lambda: (process.terminate(), process.wait(10)))
        url = f"redis://127.0.0.1:{port}/15"
        wait_for(url, 15)
        print(f"Started a throwaway Redis on port {port}.", flush=True)
        return url

    def s3(self) -> str:
        """A throwaway S3-compatible server with an empty bucket; returns its STORAGE_URL."""
        process, endpoint = s3_server()
        self.stops.append(lambda: (process.terminate(), process.wait(10)))
        print(f"Started a throwaway S3 server at {endpoint}.", flush=True)
        return f"s3://{TEST_BUCKET}?endpoint={endpoint}&region={S3_REGION}"

    def close(self) -> None:
        for stop in reversed(self.stops):
            stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def main(argv: list[str]) -> int:
    run_command = argv[:1] == ["--run"]
    if run_command:
        argv = argv[1:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    env.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    env.setdefault("VAR_DIR", str(ROOT / "var" / "test"))
    env.setdefault("NUMBA_CACHE_DIR", str(ROOT / "var" / "numba"))
    throwaway = Throwaway()
    try:
        if not answers(env["DATABASE_URL"]):
            env["DATABASE_URL"] = throwaway.postgres()
        if not answers(env["REDIS_URL"]):
            env["REDIS_URL"] = throwaway.redis()
        if not run_command and "STORAGE_URL" not in env:
            env.update({key: env.get(key, value) for key, value in S3_CREDENTIALS.items()})
            env["STORAGE_URL"] = throwaway.s3()
        command = argv if run_command else [sys.executable, "-m", "pytest", *argv]
        return subprocess.run(command, cwd=ROOT, env=env).returncode
    finally:
        throwaway.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
