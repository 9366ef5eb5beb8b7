"""Thin tasks: take ids, call one service. Each is safe to run twice."""

from __future__ import annotations

import uuid

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

from labeling import vault
from labeling.custody.retention import retention_run
from labeling.custody.services import clips_delete_after_holds
from labeling.exports import services as exports
from labeling.intake.services import TransientPipelineError, clip_hold, clip_process, clips_reconcile
from labeling.review.services import assignment_expire_leases
from workers.celery import app

TRANSIENT = (TransientPipelineError, OperationalError, InterfaceError)


@app.task(
    bind=True,
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def clip_process_task(self, clip_id: str) -> str:
    try:
        return clip_process(clip_id=uuid.UUID(clip_id), task_id=self.request.id or "")
    except SoftTimeLimitExceeded:
        # Fail closed: a clip that cannot be de-identified in time is never served.
        return clip_hold(clip_id=uuid.UUID(clip_id), reason="deidentification_timeout")


@app.task(acks_late=True)
def clips_reconcile_task() -> int:
    return clips_reconcile()


@app.task(acks_late=True)
def blobs_delete_pending_task() -> int:
    return vault.blobs_delete_pending()


@app.task(acks_late=True)
def assignment_expire_leases_task() -> int:
    return assignment_expire_leases()


@app.task(acks_late=True)
def clips_delete_after_holds_task() -> int:
    return clips_delete_after_holds()


# A run stops itself after RETENTION_RUN_SECONDS; the limits are for a batch that hangs. Cut short,
# that batch's transaction is rolled back whole and the next run does it.
@app.task(acks_late=True, soft_time_limit=settings.RETENTION_RUN_SECONDS + 60,
          time_limit=settings.RETENTION_RUN_SECONDS + 120)
def retention_task() -> dict:
    return retention_run()


@app.task(acks_late=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=10, max_retries=3,
          soft_time_limit=2 * 3600, time_limit=2 * 3600 + 120)
def export_build_task(export_id: str) -> str:
    try:
        return exports.export_build(export_id=uuid.UUID(export_id))
    except SoftTimeLimitExceeded:
        return exports.export_fail(export_id=uuid.UUID(export_id), error="It took longer than two hours.")


@app.task(acks_late=True)
def exports_housekeeping_task() -> dict:
    return {"requeued": exports.exports_reconcile(), "expired": exports.exports_expire_old()}
