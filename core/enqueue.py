"""Put a Celery task on the broker by its name once the current transaction commits.

The producer is configured from the same Django settings (CELERY_* names) as the workers' app, so
nothing below workers/ imports it. A broker that does not answer loses nothing: the caller has
committed what the task would work on, and a reconciler finds it and enqueues it again."""

from __future__ import annotations

import logging

from django.db import transaction

logger = logging.getLogger("voicereview")
_producer = None


def _app():
    global _producer
    if _producer is None:
        from celery import Celery

        app = Celery("voicereview")
        app.config_from_object("django.conf:settings", namespace="CELERY")
        _producer = app
    return _producer


def enqueue_after_commit(task: str, *args: str) -> None:
    """After commit, send `task` (its full name, e.g. 'workers.tasks.export_build_task') with `args`."""

    def send() -> None:
        try:
            _app().send_task(task, args=list(args))
        except Exception as exc:  # kombu and redis raise their own connection errors
            logger.warning("enqueue failed; the reconciler will retry", extra={
                "event": "enqueue_failed", "task": task.rsplit(".", 1)[-1], "ids": list(args),
                "error": type(exc).__name__})

    transaction.on_commit(send)
