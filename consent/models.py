"""Data subjects, the review policy's versions, and the owners' append-only, versioned consent records."""

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


class PolicyVersion(models.Model):
    """One version of the text an owner agrees to when they let people hear their recordings.

    A version is a draft until it is published (consent.services.policy_version_publish); a draft may
    be edited or removed, a published version never changes (a change is a new version), so the
    text each owner agreed to is kept. The current policy is the one published last. A version
    published as a material change makes consent given under any earlier version stop counting
    for human review until its owner confirms the new text (labeling.servability reads it so).
    """

    version = models.CharField(max_length=32, unique=True, help_text="The name owners see, e.g. 2027-03.")
    text = models.TextField(help_text="What the owner agrees to, as shown on their page.")
    material = models.BooleanField(
        default=False, help_text="A material change: consent given under earlier versions stops counting for human "
                                 "review until each owner confirms this text.")
    number = models.PositiveIntegerField(null=True, blank=True, unique=True, editable=False,
                                         help_text="1, 2, 3 ... in the order of publication; empty for a draft.")
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, editable=False,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(number__isnull=True, published_at__isnull=True)
                                   | models.Q(number__isnull=False, published_at__isnull=False),
                                   name="policy_published_has_number_and_time"),
        ]
        ordering = ["-number", "-created_at"]

    def __str__(self) -> str:
        return f"Policy {self.version}{'' if self.published_at else ' (draft)'}"

    @property
    def published(self) -> bool:
        return self.number is not None

    def save(self, *args, **kwargs):
        if not self._state.adding and PolicyVersion.objects.filter(pk=self.pk, number__isnull=False).exists():
            raise ValueError("A published policy version never changes; add a new version instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if PolicyVersion.objects.filter(pk=self.pk, number__isnull=False).exists():
            raise ValueError("A published policy version is kept: owners agreed to its text.")
        return super().delete(*args, **kwargs)


class ConsentRecord(models.Model):
    """One decision about human review. Rows are only ever added; the newest version rules."""

    class Channel(models.TextChoices):
        PORTAL = "portal"
        API = "api"
        DEMO = "demo"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="consent_records")
    version = models.PositiveIntegerField()
    granted = models.BooleanField()
    policy_version = models.CharField(max_length=32)  # the PolicyVersion.version current when it was given
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


class LedgerEntry(models.Model):
    """One access to audio or personal data, or one security event. Entries are only ever added.

    The ledger is LEDGER_CHAINS hash chains, an entry going to the chain of its actor (actor id
    modulo the number of chains, 0 for the system): each entry carries its position in its chain and
    the hash of the entry before it there, so an altered, removed or reordered entry breaks its chain
    (consent.services.ledger_verify). Several chains let different people's actions be recorded at
    the same time; one person's actions stay in one order. On PostgreSQL a trigger refuses UPDATE
    and DELETE. Entries name people only by internal ids, never by what identifies them outside.
    """

    class Action(models.TextChoices):
        LOGIN = "login"
        LOGIN_FAILED = "login_failed"
        CLIP_CLAIM = "clip_claim"  # the annotator sees the clip's de-identified draft transcript
        AUDIO_STREAM = "audio_stream"
        ENVELOPE_READ = "envelope_read"  # the waveform an editor draws, at drawing resolution
        TRANSCRIPT_SUBMIT = "transcript_submit"
        TRANSCRIPT_VIEW = "transcript_view"
        CONSENT_CHANGE = "consent_change"
        ESCALATION = "escalation"
        DELETION = "deletion"
        EXPORT = "export"
        LEAK_TRACE = "leak_trace"
        INGEST_KEY = "ingest_key"  # a device platform's key issued, rotated or revoked; never its secret

    id = models.BigAutoField(primary_key=True)  # the order entries were appended in, across chains
    chain = models.PositiveSmallIntegerField()
    seq = models.PositiveBigIntegerField()  # 1, 2, 3 ... within its chain, with no gap
    created_at = models.DateTimeField()
    action = models.CharField(max_length=32, choices=Action.choices)
    actor_id = models.BigIntegerField(null=True)  # the staff or portal user; null for the system or a device
    account_id = models.UUIDField(null=True)  # the data subject concerned, if any
    clip_id = models.UUIDField(null=True)
    assignment_id = models.UUIDField(null=True)
    detail = models.JSONField(default=dict)  # never personal data: codes, counts, purposes
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # HMAC under LEDGER_KEY of the entry's place and hash (consent.services.entry_mac): without the
    # key, an entry that verifies cannot be written.
    mac = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account_id", "id"]), models.Index(fields=["clip_id", "id"]),
                   models.Index(fields=["actor_id", "action", "id"])]
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="ledger_one_entry_per_position"),
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="ledger_seq_positive"),
        ]

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Ledger entries are append-only.")
        super().save(*args, **kwargs)


class LedgerHead(models.Model):
    """The newest position and hash of each ledger chain, so that an append reserves its place and
    learns the hash to chain onto in one statement; authenticated by LEDGER_KEY, so verification
    can tell entries cut from a chain's end."""

    chain = models.PositiveSmallIntegerField(primary_key=True)
    seq = models.PositiveBigIntegerField()
    hash = models.CharField(max_length=64)
    mac = models.CharField(max_length=64, blank=True)  # HMAC under LEDGER_KEY of (chain, seq, hash)


class DeletionReceipt(models.Model):
    """What a data subject's deletion request did, clip by clip, signed so its text can be checked
    later (consent.services.receipt_signature)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="deletion_receipts")
    created_at = models.DateTimeField(default=timezone.now)
    scope = models.CharField(max_length=8, choices=[("clip", "one clip"), ("all", "everything")])
    # [{"clip": id, "status": "deleted" | "already_deleted" | "deleted_when_hold_ends", "hold_ends_at": iso}]
    items = models.JSONField(default=list)
    signature = models.CharField(max_length=64)

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Receipts are never changed.")
        super().save(*args, **kwargs)


class LinkCode(models.Model):
    """A one-time code the device platform gives its user, with which they sign up here and become
    the owner of their device account. Only the code's SHA-256 is kept."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="link_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
