"""The embedded default's secrets (secret key, master key, ledger key) are made under VAR_DIR on
first use. Processes that start together on an empty VAR_DIR (gunicorn's workers, a worker and
beat) must all boot and agree on one of each."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

from config import settings as project_settings

ROOT = Path(__file__).resolve().parent.parent.parent

# Each process waits for the same instant, then reads the settings, as a starting worker does.
START_TOGETHER = """
import base64, os, sys, time
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
from config import settings
print(base64.b64encode(settings.MASTER_KEY).decode(), base64.b64encode(settings.LEDGER_KEY).decode(),
      settings.SECRET_KEY)
"""


def test_processes_starting_together_on_an_empty_var_dir_all_boot_and_share_one_key_each(tmp_path):
    var = tmp_path / "var"
    clean = {k: v for k, v in os.environ.items()
             if k not in {"SECRET_KEY", "MASTER_KEY", "LEDGER_KEY", "DATABASE_URL", "VAR_DIR"}}
    start = time.time() + 3
    processes = [subprocess.Popen([sys.executable, "-c", START_TOGETHER, str(start)], cwd=ROOT, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean | {"VAR_DIR": str(var)})
                 for _ in range(8)]
    answers = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0] * 8, [err for _, err in answers]
    assert len({out for out, _ in answers}) == 1
    master, ledger, secret = answers[0][0].split()
    assert master != ledger
    files = [path for path in var.iterdir() if path.is_file()]
    assert sorted(path.name for path in files) == ["ledger.key", "master.key", "secret_key"]  # no drafts left
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_secret_made_by_another_process_meanwhile_is_the_one_used(tmp_path, monkeypatch):
    monkeypatch.setattr(project_settings, "VAR_DIR", tmp_path)

    def slow_make() -> str:  # another process links its secret while this one is still writing
        (tmp_path / "master.key").write_text("theirs\n")
        return "mine"

    assert project_settings._embedded_secret("master.key", slow_make) == "theirs"
    assert project_settings._embedded_secret("master.key", lambda: "again") == "theirs"
    assert [path.name for path in tmp_path.iterdir()] == ["master.key"]
