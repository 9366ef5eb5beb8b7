"""Data subjects and their append-only, versioned consent records."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Account(models.Model):
    """The owner of voice devices, known to the device platform by `external_id`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    external_id = models.CharField(max_length=128, unique=True)
    first_name = models.CharField(max_length=100, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="account"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Account {self.id}"


class ConsentRecord(models.Model):
    """One decision about human review. Rows are only ever added; the newest version rules."""

    class Channel(models.TextChoices):
        PORTAL = "portal"
        API = "api"
        DEMO = "demo"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="consent_records")
    version = models.PositiveIntegerField()
    granted = models.BooleanField()
    policy_version = models.CharField(max_length=32)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "version"], name="consent_one_record_per_version"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="consent_version_positive"),
        ]
        ordering = ["account", "version"]

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Consent records are append-only; add a new version instead.")
        super().save(*args, **kwargs)
