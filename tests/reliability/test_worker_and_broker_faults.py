"""Faults in the pipeline's processes: a worker killed mid-clip, Redis restarted with clips waiting.
Nothing is lost and nothing is done twice."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from labeling.models import Clip, ClipStatus
from tests.factories import AUDIO, stored_files
from tests.reliability.conftest import post_clip, status_of, wait_until

# Transactional: the stack's processes read what the test commits; serialized rollback keeps the
# rows the migrations made (role groups, the default project) for the tests after these.
pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def deid_files(media) -> list:
    return [p for p in stored_files(media) if p.name == "deid.bin"]


def test_worker_process_killed_mid_clip_is_taken_up_again_at_once(stack, device):
    """The pool process doing the clip is SIGKILLed: the worker hands the task back, a new pool
    process takes it up at once, and exactly one de-identified version is stored."""
    stack.start_worker()
    response = post_clip(stack, device, (AUDIO / "pii_name_number.wav").read_bytes())
    assert response.status_code == 202, response.text
    clip_id = response.json()["id"]
    wait_until(lambda: status_of(clip_id) == ClipStatus.PROCESSING, timeout=60, what="the worker to start the clip")
    children = stack.pool_children()
    assert len(children) == 1
    os.kill(children[0], signal.SIGKILL)

    wait_until(lambda: status_of(clip_id) == ClipStatus.QUEUED, timeout=120, what="the clip to be finished",
               step=0.5)
    clip = Clip.objects.get(pk=clip_id)
    assert clip.attempts == 2  # the killed attempt and the one that finished
    assert len(deid_files(stack.media)) == 1
    assert [p.name for p in stored_files(stack.media)] == ["deid.bin"]  # the original is gone
    assert clip.raw_path == "" and clip.deid_path
    stack.assert_logs_hold_no_personal_data()


def test_whole_worker_killed_mid_clip_is_finished_by_the_reconciler_after_restart(stack, device):
    """Worker and pool SIGKILLed together: the message stays with the dead worker until the
    broker's visibility timeout, so the reconciler re-enqueues the clip once its processing is
    stale; a restarted worker finishes it, and the first message, when it comes back, does nothing."""
    stack.start_worker()
    response = post_clip(stack, device, (AUDIO / "pii_name_number.wav").read_bytes())
    clip_id = response.json()["id"]
    wait_until(lambda: status_of(clip_id) == ClipStatus.PROCESSING, timeout=60, what="the worker to start the clip")
    stack.kill_worker()
    assert status_of(clip_id) == ClipStatus.PROCESSING
    stack.start_worker()
    assert stack.reconcile() == 0  # not stale yet: a slow worker may still be on it
    # As if PROCESSING_STALE_SECONDS had passed since the dead worker took the clip.
    Clip.objects.filter(pk=clip_id).update(processing_started_at=timezone.now() - timedelta(hours=1))
    assert stack.reconcile() == 1
    wait_until(lambda: status_of(clip_id) == ClipStatus.QUEUED, timeout=120, what="the clip to be finished",
               step=0.5)
    assert len(deid_files(stack.media)) == 1
    assert [p.name for p in stored_files(stack.media)] == ["deid.bin"]
    assert Clip.objects.get(pk=clip_id).attempts == 2


def test_redis_restarted_with_clips_waiting_loses_none(stack, device):
    """Three clips wait on the broker when Redis restarts (it keeps nothing on disk, so their
    messages are gone); one more arrives while Redis is down. The reconciler finds all four."""
    ids = []
    for _ in range(3):
        response = post_clip(stack, device, (AUDIO / "speech_with_silence.wav").read_bytes())
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    stack.redis.stop()
    response = post_clip(stack, device, (AUDIO / "speech_with_silence.wav").read_bytes())
    assert response.status_code == 202, response.text  # stored; the enqueue failed and is retried later
    ids.append(response.json()["id"])
    ready = requests.get(f"{stack.url}/readyz", timeout=10)
    assert ready.status_code == 503 and ready.json()["checks"]["broker"].startswith("unavailable")
    stack.redis.start()
    stack.start_worker()
    assert all(status_of(clip_id) == ClipStatus.RECEIVED for clip_id in ids)
    # As if RECEIVED_STALE_SECONDS had passed: the reconciler leaves fresh clips to their messages.
    Clip.objects.filter(pk__in=ids).update(updated_at=timezone.now() - timedelta(minutes=10))
    assert stack.reconcile() == 4
    wait_until(lambda: all(status_of(clip_id) == ClipStatus.QUEUED for clip_id in ids), timeout=180,
               what="every clip to be de-identified", step=0.5)
    assert len(deid_files(stack.media)) == 4
    assert requests.get(f"{stack.url}/readyz", timeout=10).status_code == 200
    stack.assert_logs_hold_no_personal_data()
