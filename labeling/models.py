"""Clips and the work done on them: ingest keys, shifts, assignments with leases, transcripts."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from consent.models import Account


class IngestKey(models.Model):
    """An API key of a device platform; only its SHA-256 is kept."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"


class ClipStatus(models.TextChoices):
    RECEIVED = "received"
    PROCESSING = "processing"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    LABELED = "labeled"
    DISCARDED = "discarded"
    HELD = "held"
    ESCALATED = "escalated"
    WITHDRAWN = "withdrawn"
    DELETED = "deleted"


class Clip(models.Model):
    """One recording. Its audio lives encrypted in storage under a per-clip data key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="clips")
    device_serial = models.CharField(max_length=64)
    recorded_at = models.DateTimeField()
    wake_word_score = models.FloatField()
    locale = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=ClipStatus.choices, default=ClipStatus.RECEIVED)
    status_reason = models.CharField(max_length=200, blank=True)
    audio_format = models.CharField(max_length=8, blank=True)
    # The data key wrapped by the master key; set to NULL to crypto-shred every copy.
    wrapped_key = models.BinaryField(null=True, blank=True)
    raw_path = models.CharField(max_length=200, blank=True)
    deid_path = models.CharField(max_length=200, blank=True)
    input_seconds = models.FloatField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    trimmed_seconds = models.FloatField(null=True, blank=True)
    # Recognized text with personal data replaced by [NAME], [NUMBER], [EMAIL], [ADDRESS]; never the raw text.
    draft_transcript = models.TextField(blank=True)
    masked_spans = models.JSONField(default=list, blank=True)  # [{"kind", "start", "end"}] in input seconds
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ClipStatus.values), name="clip_status_valid"),
            models.CheckConstraint(
                condition=~Q(status__in=["queued", "assigned"]) | (Q(queued_at__isnull=False) & ~Q(deid_path="")),
                name="clip_servable_has_deid_audio",
            ),
        ]
        indexes = [
            models.Index(fields=["queued_at", "id"], condition=Q(status="queued"), name="clip_queue_order"),
            models.Index(fields=["status", "updated_at"], name="clip_status_updated"),
        ]

    def __str__(self) -> str:
        return f"Clip {self.id} ({self.status})"


class Team(models.Model):
    """Annotators who work under the same rules; an annotator outside any team works under the
    defaults from settings (WORK_*)."""

    name = models.CharField(max_length=100, unique=True)
    max_shift_minutes = models.PositiveIntegerField(help_text="Shift time allowed in any 24 hours.")
    max_clips_per_shift = models.PositiveIntegerField()
    break_after_minutes = models.PositiveIntegerField(help_text="Continuous work before a break is required.")
    break_minutes = models.PositiveIntegerField(help_text="A pause this long counts as a break.")
    min_claim_interval_seconds = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(max_shift_minutes__gte=1, max_shift_minutes__lte=24 * 60, max_clips_per_shift__gte=1,
                            break_after_minutes__gte=1, break_minutes__gte=1),
                name="team_rules_sane",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_membership")


class Shift(models.Model):
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="shifts")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Kept by the claim, submit and skip services, under the shift's row lock.
    last_claim_at = models.DateTimeField(null=True, blank=True)
    last_active_at = models.DateTimeField(null=True, blank=True)
    stretch_started_at = models.DateTimeField(null=True, blank=True)  # start of the current stretch without a break
    clips_claimed = models.PositiveIntegerField(default=0)
    earlier_worked_seconds = models.PositiveIntegerField(default=0)  # other shifts' time in the 24 h before this one

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["annotator"], condition=Q(ended_at__isnull=True), name="one_open_shift_per_annotator"
            ),
        ]


class AssignmentState(models.TextChoices):
    OPEN = "open"
    SUBMITTED = "submitted"
    SKIPPED = "skipped"
    EXPIRED = "expired"
    RELEASED = "released"  # the shift ended with the clip unfinished
    REVOKED = "revoked"  # the owner withdrew consent


class Assignment(models.Model):
    """A clip lent to one annotator until the lease runs out. Its id is the reviewer's only name for the clip."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clip = models.ForeignKey(Clip, on_delete=models.PROTECT, related_name="assignments")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments")
    shift = models.ForeignKey(Shift, on_delete=models.PROTECT, related_name="assignments")
    state = models.CharField(max_length=16, choices=AssignmentState.choices, default=AssignmentState.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    lease_expires_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    plays = models.PositiveSmallIntegerField(default=0, db_default=0, help_text="Times the audio was served.")
    # The clip's owner, copied at claim so the linkability limit is one index range per candidate.
    account = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clip"], condition=Q(state="open"), name="one_open_assignment_per_clip"),
            models.UniqueConstraint(
                fields=["annotator"], condition=Q(state="open"), name="one_open_assignment_per_annotator"
            ),
            models.CheckConstraint(condition=Q(state__in=AssignmentState.values), name="assignment_state_valid"),
        ]
        indexes = [
            models.Index(fields=["lease_expires_at"], condition=Q(state="open"), name="assignment_open_lease"),
            models.Index(fields=["clip", "annotator"], name="assignment_clip_annotator"),
            models.Index(fields=["annotator", "account", "created_at"], name="assignment_heard_subject"),
        ]


class Transcript(models.Model):
    assignment = models.OneToOneField(Assignment, on_delete=models.PROTECT, related_name="transcript")
    clip = models.ForeignKey(Clip, on_delete=models.PROTECT, related_name="transcripts")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="transcripts")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
