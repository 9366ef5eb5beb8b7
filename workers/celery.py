"""The Celery application, configured from Django settings (CELERY_* names)."""

from __future__ import annotations

import os
import time

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("voicereview", task_cls="celery.contrib.django.task:DjangoTask", include=["workers.tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.beat_schedule = {
    "reconcile-stuck-clips": {"task": "workers.tasks.clips_reconcile_task", "schedule": 60.0},
    "delete-stored-objects-left": {"task": "workers.tasks.blobs_delete_pending_task", "schedule": 60.0},
    "expire-assignment-leases": {"task": "workers.tasks.assignment_expire_leases_task", "schedule": 30.0},
    "delete-after-legal-holds": {"task": "workers.tasks.clips_delete_after_holds_task", "schedule": 300.0},
    "retention": {"task": "workers.tasks.retention_task", "schedule": 3600.0},
    "exports-housekeeping": {"task": "workers.tasks.exports_housekeeping_task", "schedule": 300.0},
}


# Task durations for /metrics, in the worker process that ran the task.
_task_started: dict[str, float] = {}


@signals.task_prerun.connect
def _task_start(task_id=None, **_):
    _task_started[task_id] = time.perf_counter()


@signals.task_postrun.connect
def _task_done(task_id=None, task=None, state=None, **_):
    started = _task_started.pop(task_id, None)
    if started is not None and task is not None:
        from config.observability import TASK_SECONDS

        TASK_SECONDS.labels(task.name.rsplit(".", 1)[-1], (state or "unknown").lower()).observe(
            time.perf_counter() - started)
