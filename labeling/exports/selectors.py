"""Reads of training exports."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser

from core.errors import NotFound
from labeling.models import (
    ExportJob,
    Project,
    ProjectRole,
)
from labeling.selectors import project_ids_of


def exports_of(*, project: Project, limit: int = 20) -> list[ExportJob]:
    return list(ExportJob.objects.filter(project=project).select_related("project").order_by("-created_at")[:limit])


def export_for(*, supervisor: AbstractBaseUser, export_id: uuid.UUID) -> ExportJob:
    """An export of a project this person supervises; otherwise it does not exist for them."""
    job = ExportJob.objects.select_related("project").filter(
        pk=export_id, project__in=project_ids_of(user=supervisor, role=ProjectRole.SUPERVISOR)).first()
    if job is None:
        raise NotFound("not_found", "No such export.")
    return job
