"""Reads of clips, shifts and assignments."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count
from django.db.models.functions import TruncHour

from core.errors import NotFound
from labeling.models import (
    Clip,
    IngestKey,
    Project,
    ProjectMember,
    ProjectRole,
    Transcript,
    TranscriptFlag,
)


def ingest_key_for(*, raw: str, now: datetime) -> IngestKey | None:
    """The key matching a presented secret, compared in constant time, if it works at `now`:
    neither revoked nor past the end of its rotation's overlap window."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != "vr":
        return None
    key = IngestKey.objects.filter(prefix=parts[1]).first()
    if key is None:
        return None
    digest = hashlib.sha256(raw.encode()).hexdigest()
    if not hmac.compare_digest(digest, key.key_hash):
        return None
    return key if key.is_active(now) else None


def ingest_keys_all() -> list[IngestKey]:
    """Every ingest key, newest first, with who made it and which key it replaced or was replaced by."""
    keys = IngestKey.objects.select_related("created_by", "replaces", "replaced_by")
    return list(keys.order_by("-created_at", "-id"))


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


def held_reason_counts() -> dict[str, int]:
    """Held clips per reason, the reason's kind only ("decode_failed: corrupt_audio" counts as decode_failed)."""
    counts: dict[str, int] = {}
    for row in Clip.objects.filter(status="held").values("status_reason").annotate(n=Count("id")).order_by():
        kind = row["status_reason"].split(":", 1)[0].strip() or "unknown"
        counts[kind] = counts.get(kind, 0) + row["n"]
    return counts


# ---------------------------------------------------------------- escalations and wellbeing


def clips_labeled_per_hour(*, now: datetime, hours: int = 24) -> list[tuple[datetime, int]]:
    """Transcripts submitted in each of the last `hours` whole hours, oldest first."""
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=hours)
    counts = dict(Transcript.objects.filter(created_at__gte=start).annotate(hour=TruncHour("created_at"))
                  .values("hour").annotate(n=Count("id")).values_list("hour", "n"))
    return [(start + timedelta(hours=h), counts.get(start + timedelta(hours=h), 0)) for h in range(hours)]


# ---------------------------------------------------------------- what a data subject sees of their clips


def project_schema(*, project: Project) -> dict:
    """What the editor offers for a project's clips: intents, entity types, flags."""
    return {"name": project.name, "intents": project.intents, "entity_types": project.entity_types,
            "flags": [flag for flag in TranscriptFlag.values if flag in project.flags]}


def projects_of(*, user: AbstractBaseUser) -> list[dict]:
    """The projects a person belongs to, with their role in each and the label schema."""
    rows = (ProjectMember.objects.filter(user=user).select_related("project").order_by("project__name", "role"))
    projects: dict[int, dict] = {}
    for member in rows:
        entry = projects.setdefault(member.project_id, {
            "slug": member.project.slug, "roles": [], **project_schema(project=member.project),
            "locale": member.project.locale, "sample_rate": member.project.sample_rate})
        entry["roles"].append(member.role)
    return list(projects.values())


def project_ids_of(*, user: AbstractBaseUser, role: str):
    """The ids of the projects this person is a member of in this role, as a subquery."""
    return ProjectMember.objects.filter(user=user, role=role).values("project_id")


def projects_supervised(*, supervisor: AbstractBaseUser) -> list[Project]:
    return list(Project.objects.filter(pk__in=project_ids_of(user=supervisor, role=ProjectRole.SUPERVISOR))
                .order_by("name"))


def supervised_project(*, supervisor: AbstractBaseUser, slug: str) -> Project:
    """The project, if this person supervises it; otherwise it does not exist for them."""
    project = Project.objects.filter(slug=slug, pk__in=project_ids_of(user=supervisor, role=ProjectRole.SUPERVISOR)
                                     ).first()
    if project is None:
        raise NotFound("not_found", f"You supervise no project '{slug}'.")
    return project


