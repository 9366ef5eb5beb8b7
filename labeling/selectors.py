"""Reads of clips, shifts and assignments."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count

from labeling.models import Assignment, AssignmentState, Clip, IngestKey, Shift


def ingest_key_for(*, raw: str) -> IngestKey | None:
    """The active key matching a presented secret, compared in constant time."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != "vr":
        return None
    key = IngestKey.objects.filter(prefix=parts[1], revoked_at__isnull=True).first()
    if key is None:
        return None
    digest = hashlib.sha256(raw.encode()).hexdigest()
    return key if hmac.compare_digest(digest, key.key_hash) else None


def shift_current(*, annotator: AbstractBaseUser) -> Shift | None:
    return Shift.objects.filter(annotator=annotator, ended_at__isnull=True).first()


def shift_done_count(*, shift: Shift) -> int:
    return Assignment.objects.filter(shift=shift, state=AssignmentState.SUBMITTED).count()


def assignment_for_annotator(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser, lock: bool) -> Assignment | None:
    """Only the assignee ever finds an assignment; for anyone else it does not exist."""
    queryset = Assignment.objects.filter(pk=assignment_id, annotator=annotator)
    if lock:
        queryset = queryset.select_for_update()
    return queryset.first()


def clips_held(*, limit: int = 200) -> list[Clip]:
    """Clips kept from review, newest first, with their reasons; no identifier of the owner is loaded."""
    return list(
        Clip.objects.filter(status="held")
        .order_by("-updated_at")
        .only("id", "status_reason", "last_error", "updated_at", "input_seconds")[:limit]
    )


def clip_status_counts() -> dict[str, int]:
    rows = Clip.objects.values("status").annotate(n=Count("id")).order_by()
    return {row["status"]: row["n"] for row in rows}
