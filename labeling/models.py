"""Clips and the work done on them: ingest keys, shifts, assignments with leases, transcripts."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from consent.models import Account


class IngestKeyState(models.TextChoices):
    ACTIVE = "active"
    EXPIRING = "expiring"  # replaced; works until its overlap window ends
    EXPIRED = "expired"
    REVOKED = "revoked"


class IngestKey(models.Model):
    """An API key of a device platform; only its SHA-256 is kept. A key works while it is neither
    revoked nor past `expires_at`, which only a rotation sets: the key that replaces it (`replaces`
    on the new key, at most one) works at once, and the old one until its overlap window ends."""

    name = models.CharField(max_length=100, help_text="The device platform the key is for.")
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")  # null: made by a command (the system)
    last_used_at = models.DateTimeField(null=True, blank=True)  # to the minute (LAST_USED_RESOLUTION)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    replaces = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="replaced_by")

    LAST_USED_RESOLUTION = timedelta(minutes=1)

    class Meta:
        permissions = [("manage_ingest_keys", "Can issue, rotate and revoke the device platforms' ingest keys")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def state(self, now: datetime) -> IngestKeyState:
        if self.revoked_at is not None:
            return IngestKeyState.REVOKED
        if self.expires_at is not None:
            return IngestKeyState.EXPIRING if self.expires_at > now else IngestKeyState.EXPIRED
        return IngestKeyState.ACTIVE


class TranscriptFlag(models.TextChoices):
    """What an annotator may say of a clip besides its words; a project chooses which it offers."""

    NO_SPEECH = "no_speech", "No speech"
    UNINTELLIGIBLE = "unintelligible", "Unintelligible"
    NOT_DIRECTED = "not_directed", "Not directed at the device"


SAMPLE_RATES = (8000, 16000, 22050, 24000, 44100, 48000)


def all_transcript_flags() -> list[str]:
    return list(TranscriptFlag.values)


class Project(models.Model):
    """Clips that belong together and the label schema their transcripts follow. Annotators are
    lent clips only of their projects; supervisors check quality and export the projects they are
    members of."""

    slug = models.SlugField(max_length=50, unique=True, help_text="Devices name the project by this in the metadata.")
    name = models.CharField(max_length=100)
    locale = models.CharField(max_length=16, default="en",
                              help_text="Language tag; clips in another language are refused at ingest.")
    sample_rate = models.PositiveIntegerField(default=16000, help_text="Sample rate of exported audio (Hz).")
    intents = models.JSONField(default=list, blank=True, help_text="Intent labels annotators choose from.")
    entity_types = models.JSONField(default=list, blank=True, help_text="Entity types annotators tag spans with.")
    flags = models.JSONField(default=all_transcript_flags, blank=True,
                             help_text=f"Flags offered, of: {', '.join(TranscriptFlag.values)}.")
    clip_quota = models.PositiveIntegerField(null=True, blank=True,
                                             help_text="Clips the project takes for review; none: no limit.")
    gold_share = models.FloatField(default=0.05, help_text="Share of served clips that are gold clips.")
    agreement_share = models.FloatField(default=0.10, help_text="Share of clips transcribed twice, blind.")
    agreement_max_difference = models.FloatField(
        default=0.2, help_text="Word error rate between the two readings above which a supervisor adjudicates.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(sample_rate__in=SAMPLE_RATES), name="project_sample_rate_known"),
            models.CheckConstraint(condition=Q(gold_share__gte=0, gold_share__lte=1, agreement_share__gte=0,
                                               agreement_share__lte=1, agreement_max_difference__gte=0),
                                   name="project_shares_sane"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """A project in a language no configured recognizer reads could never have its clips
        de-identified: refused when it is created or changed (the admin calls this)."""
        super().clean()
        if not recognizes_language(self.locale):
            raise ValidationError({"locale": f"No speech recognizer is configured for '{self.locale}', so its clips "
                                             f"could not be de-identified. Configured: "
                                             f"{', '.join(settings.ASR_LANGUAGES)} (ASR_LANGUAGES)."})


def recognizes_language(locale: str) -> bool:
    """Whether the configured recognizer reads speech in this language tag ('en', 'en-GB')."""
    return locale.split("-")[0].lower() in settings.ASR_LANGUAGES


class ProjectRole(models.TextChoices):
    ANNOTATOR = "annotator"
    SUPERVISOR = "supervisor"


class ProjectMember(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_memberships")
    role = models.CharField(max_length=16, choices=ProjectRole.choices, default=ProjectRole.ANNOTATOR)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user", "role"], name="one_membership_per_role")]
        indexes = [models.Index(fields=["user", "role"], name="project_member_user_role")]


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
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="clips")
    # Blanked when the clip is deleted: the row then stays only as a tombstone (id, time, reason).
    device_serial = models.CharField(max_length=64, blank=True)
    recorded_at = models.DateTimeField(null=True)
    wake_word_score = models.FloatField(null=True)
    locale = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=16, choices=ClipStatus.choices, default=ClipStatus.RECEIVED)
    status_reason = models.CharField(max_length=200, blank=True)
    audio_format = models.CharField(max_length=8, blank=True)
    # The data key wrapped by the master key; set to NULL to crypto-shred every copy.
    wrapped_key = models.BinaryField(null=True, blank=True)
    raw_path = models.CharField(max_length=200, blank=True)
    deid_path = models.CharField(max_length=200, blank=True)
    # The de-identified audio's drawing envelope (labeling.vault.seal_envelope), encrypted under the
    # clip's key: peaks are served from it without reading the audio. Goes with the audio.
    envelope = models.BinaryField(null=True, blank=True)
    input_seconds = models.FloatField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    trimmed_seconds = models.FloatField(null=True, blank=True)
    # Recognized text with personal data replaced by [NAME], [NUMBER], [EMAIL], [ADDRESS]; never the raw text.
    draft_transcript = models.TextField(blank=True)
    masked_spans = models.JSONField(default=list, blank=True)  # [{"kind", "start", "end"}] in input seconds
    # The most severe category an annotator flagged the clip with; such a clip is served again only
    # to annotators within their exposure budget who did not opt out of the category.
    flag_category = models.CharField(max_length=16, blank=True, default="", db_default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    # The pipeline task that claimed the clip: the same task delivered again (its worker died) may resume it.
    processing_task = models.CharField(max_length=64, blank=True, default="", db_default="")
    # The owner asked for deletion while a legal hold was in force: deleted when the hold ends.
    deletion_requested_at = models.DateTimeField(null=True, blank=True)
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
            # Retention's passes find what is due without reading what was already purged, which
            # collects over months (labeled clips without audio, held and discarded ones without details).
            models.Index(fields=["updated_at"], name="clip_audio_kept",
                         condition=Q(status__in=["labeled", "escalated"], wrapped_key__isnull=False)),
            models.Index(fields=["id"], condition=Q(status__in=["held", "discarded"]) & ~Q(device_serial=""),
                         name="clip_details_kept"),
        ]

    def __str__(self) -> str:
        return f"Clip {self.id} ({self.status})"


class FlagCategory(models.TextChoices):
    """What an annotator may flag a clip as, most severe first."""

    CHILD_SAFETY = "child_safety", "Child safety"
    DANGER = "danger", "Possible crime or someone in danger"
    SELF_HARM = "self_harm", "Self-harm risk"
    DISTRESSING = "distressing", "Distressing"
    OTHER = "other", "Other"


FLAG_SEVERITY = {category: rank for rank, category in enumerate(FlagCategory.values)}  # 0 is the most severe


class Team(models.Model):
    """Annotators who work under the same rules; an annotator outside any team works under the
    defaults from settings (WORK_*)."""

    name = models.CharField(max_length=100, unique=True)
    max_shift_minutes = models.PositiveIntegerField(help_text="Shift time allowed in any 24 hours.")
    max_clips_per_shift = models.PositiveIntegerField()
    break_after_minutes = models.PositiveIntegerField(help_text="Continuous work before a break is required.")
    break_minutes = models.PositiveIntegerField(help_text="A pause this long counts as a break.")
    min_claim_interval_seconds = models.PositiveIntegerField()
    flag_break_minutes = models.PositiveIntegerField(default=5, help_text="Pause after flagging a clip.")
    exposure_budget_minutes = models.PositiveIntegerField(
        default=10, help_text="Flagged content an annotator may hear per shift.")
    # Clips flagged with one of these categories start quietly and fade in on the annotator page,
    # unless the annotator turned muted start off (AnnotatorPreference.muted_start).
    muted_start_categories = models.JSONField(
        default=list, blank=True, help_text="Flag categories whose clips start quietly and fade in.")

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

    def clean(self) -> None:
        super().clean()
        categories = self.muted_start_categories
        if not isinstance(categories, list) or any(c not in FlagCategory.values for c in categories):
            raise ValidationError({"muted_start_categories": f"A list of: {', '.join(FlagCategory.values)}."})


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
    exposure_seconds = models.FloatField(default=0.0, db_default=0.0)  # flagged content heard in this shift
    last_flag_at = models.DateTimeField(null=True, blank=True)
    flag_break_until = models.DateTimeField(null=True, blank=True)

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
    POLICY_CHANGED = "policy_changed"  # the policy changed materially; the owner has yet to confirm it
    ESCALATED = "escalated"  # the clip was flagged and went to the supervisors


class Purpose(models.TextChoices):
    """Why a person was lent a clip; the data subject's ledger shows it."""

    TRANSCRIPTION = "transcription", "transcription"
    SECOND_OPINION = "second_opinion", "second opinion"
    ESCALATION_REVIEW = "escalation_review", "escalation review"
    ADJUDICATION = "adjudication", "adjudication"  # a supervisor decides between two readings of a second opinion
    GOLD = "gold", "quality check"  # a gold clip served to measure an annotator's accuracy
    AGREEMENT = "agreement", "second transcription"  # a sampled clip transcribed again, blind
    QUALITY_REVIEW = "quality_review", "quality review"  # a supervisor hears a labeled clip to make it gold


SUPERVISOR_PURPOSES = (Purpose.ESCALATION_REVIEW, Purpose.ADJUDICATION, Purpose.QUALITY_REVIEW)
# What the annotator is told of a clip's purpose: gold clips and agreement samples look like any other.
SHOWN_PURPOSE = {Purpose.GOLD: Purpose.TRANSCRIPTION, Purpose.AGREEMENT: Purpose.TRANSCRIPTION}


class Assignment(models.Model):
    """A clip lent to one annotator until the lease runs out. Its id is the reviewer's only name for the clip."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clip = models.ForeignKey(Clip, on_delete=models.PROTECT, related_name="assignments")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments")
    # None for a supervisor's listening (SUPERVISOR_PURPOSES), which belongs to no shift.
    shift = models.ForeignKey(Shift, on_delete=models.PROTECT, null=True, related_name="assignments")
    state = models.CharField(max_length=16, choices=AssignmentState.choices, default=AssignmentState.OPEN)
    purpose = models.CharField(max_length=20, choices=Purpose.choices, default=Purpose.TRANSCRIPTION,
                               db_default=Purpose.TRANSCRIPTION)
    created_at = models.DateTimeField(default=timezone.now)
    lease_expires_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    # What the server can count of listening: how often it sent the audio (a page may fetch it ahead
    # and never play it), and how often the reviewer's page said it started playing it (a report,
    # bounded by labeling.review.audio.assignment_play_start, never a proof of listening).
    audio_sent = models.PositiveSmallIntegerField(default=0, db_default=0, help_text="Times the audio was sent.")
    play_starts = models.PositiveIntegerField(default=0, db_default=0,
                                              help_text="Play starts the reviewer's page reported.")
    last_play_start_at = models.DateTimeField(null=True, blank=True)
    # The editor's work so far ({text, intent, entities, flags}), saved as the annotator types so a
    # reload loses nothing; dropped with the clip.
    draft = models.JSONField(null=True, blank=True)
    draft_saved_at = models.DateTimeField(null=True, blank=True)
    # The clip's owner, copied at claim so the linkability limit is one index range per candidate.
    account = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, related_name="+")
    # Claimed ahead, while the annotator works on another clip, so the editor has its audio ready; it
    # becomes their clip when that one is submitted or skipped. At most one per annotator.
    standby = models.BooleanField(default=False, db_default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clip"], condition=Q(state="open", purpose="transcription"),
                                    name="one_open_transcription_per_clip"),
            models.UniqueConstraint(fields=["annotator"],
                                    condition=Q(state="open", standby=False) & ~Q(purpose__in=SUPERVISOR_PURPOSES),
                                    name="one_open_assignment_per_annotator"),
            models.UniqueConstraint(fields=["annotator"], condition=Q(state="open", standby=True),
                                    name="one_standby_per_annotator"),
            models.UniqueConstraint(fields=["clip", "annotator", "purpose"],
                                    condition=Q(state="open", purpose__in=SUPERVISOR_PURPOSES),
                                    name="one_open_listening_per_supervisor_and_clip"),
            models.CheckConstraint(condition=Q(shift__isnull=False) | Q(purpose__in=SUPERVISOR_PURPOSES),
                                   name="annotator_work_belongs_to_a_shift"),
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
    text = models.TextField(blank=True)  # empty only with the no_speech flag
    intent = models.CharField(max_length=100, blank=True)
    entities = models.JSONField(default=list, blank=True)  # [{"start", "end", "type"}]: character offsets in text
    flags = models.JSONField(default=list, blank=True)  # TranscriptFlag values
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="transcript_created")]  # retention's due ones


class CategoryOptOut(models.Model):
    """An annotator who does not want to hear clips flagged with this category."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="category_opt_outs")
    category = models.CharField(max_length=16, choices=FlagCategory.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "category"], name="one_opt_out_per_category")]


class MutedStart(models.TextChoices):
    """When the annotator page starts playback quietly and fades it in."""

    MARKED = "marked", "For clips in a category my team marks"
    ALL = "all", "For every clip"
    OFF = "off", "Never"


class AnnotatorPreference(models.Model):
    """How the annotator page plays sound for this annotator, kept on the server so that it follows
    them from browser to browser. No row: the defaults."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotator_preference")
    volume = models.FloatField(default=1.0, help_text="Playback volume, 0 (silent) to 1 (full).")
    muted_start = models.CharField(max_length=8, choices=MutedStart.choices, default=MutedStart.MARKED)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(volume__gte=0, volume__lte=1), name="annotator_volume_in_range"),
            models.CheckConstraint(condition=Q(muted_start__in=MutedStart.values), name="annotator_muted_start_valid"),
        ]


class EscalationState(models.TextChoices):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"  # the owner withdrew consent before a supervisor resolved it


class EscalationOutcome(models.TextChoices):
    NO_ACTION = "no_action", "No action: the clip returns to transcription"
    REFERRAL = "referral", "Referral under the escalation policy"
    PURGE = "purge", "Purge the clip"
    WELLBEING_CHECK = "wellbeing_check", "Wellbeing check for the annotator"


class Escalation(models.Model):
    """A clip an annotator flagged, on its way to a supervisor's recorded outcome."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clip = models.ForeignKey(Clip, on_delete=models.PROTECT, related_name="escalations")
    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="escalations")
    flagged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    category = models.CharField(max_length=16, choices=FlagCategory.choices)
    severity = models.PositiveSmallIntegerField()  # FLAG_SEVERITY of the category; 0 first
    note = models.TextField(blank=True)
    annotator_text = models.TextField(blank=True)  # what the annotator had typed when they flagged
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=EscalationState.choices, default=EscalationState.OPEN)
    claimed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    claimed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=EscalationOutcome.choices, blank=True)
    reason = models.TextField(blank=True)
    referred_to = models.CharField(max_length=200, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clip"], condition=Q(state__in=["open", "claimed"]),
                                    name="one_unresolved_escalation_per_clip"),
            models.CheckConstraint(condition=Q(state__in=EscalationState.values), name="escalation_state_valid"),
            models.CheckConstraint(
                condition=~Q(state="resolved") | (~Q(outcome="") & ~Q(reason="") & Q(resolved_by__isnull=False)),
                name="resolved_escalation_has_outcome_and_reason",
            ),
            models.CheckConstraint(condition=~Q(outcome="referral") | ~Q(referred_to=""),
                                   name="referral_names_its_recipient"),
        ]
        indexes = [models.Index(fields=["severity", "created_at"], condition=Q(state__in=["open", "claimed"]),
                                name="escalation_queue_order")]


class LegalHoldQuerySet(models.QuerySet):
    def in_force(self, now):
        return self.filter(expires_at__gt=now)


class LegalHold(models.Model):
    """Freezes deletion of one clip until it expires, with its reason."""

    objects = LegalHoldQuerySet.as_manager()

    clip = models.ForeignKey(Clip, on_delete=models.PROTECT, related_name="legal_holds")
    escalation = models.ForeignKey(Escalation, on_delete=models.PROTECT, null=True, related_name="legal_holds")
    reason = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="legal_hold_has_reason")]


class SecondOpinionState(models.TextChoices):
    PENDING = "pending"  # waiting for another annotator
    ANSWERING = "answering"  # lent to another annotator
    AGREED = "agreed"
    ADJUDICATION = "adjudication"  # the two readings differ: a supervisor decides
    ADJUDICATED = "adjudicated"
    CANCELLED = "cancelled"  # the clip was withdrawn, escalated or deleted


class OpinionKind(models.TextChoices):
    ASKED = "asked"  # an annotator unsure of a stretch asked
    AGREEMENT = "agreement"  # a sampled clip went to a second annotator, neither of them told


class SecondOpinion(models.Model):
    """An annotator unsure of a stretch of a clip asks another annotator, who hears it blind; or a
    sampled clip is transcribed a second time, blind, to measure agreement (kind agreement, the
    whole clip)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=OpinionKind.choices, default=OpinionKind.ASKED,
                            db_default=OpinionKind.ASKED)
    clip = models.ForeignKey(Clip, on_delete=models.PROTECT, related_name="second_opinions")
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    asking_assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="second_opinions_asked")
    start_seconds = models.FloatField()
    end_seconds = models.FloatField()
    first_text = models.TextField()  # the asker's reading of the range; never shown to the other annotator
    state = models.CharField(max_length=16, choices=SecondOpinionState.choices, default=SecondOpinionState.PENDING)
    answer_assignment = models.OneToOneField(Assignment, on_delete=models.PROTECT, null=True,
                                             related_name="second_opinion_answered")
    answer_text = models.TextField(blank=True)
    difference = models.FloatField(null=True, blank=True)  # word error rate of the answer against the first reading
    adjudicated_text = models.TextField(blank=True)
    adjudicated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                       related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(end_seconds__gt=F("start_seconds")) & Q(start_seconds__gte=0),
                                   name="second_opinion_range_valid"),
            models.CheckConstraint(condition=Q(state__in=SecondOpinionState.values),
                                   name="second_opinion_state_valid"),
        ]
        indexes = [models.Index(fields=["created_at"], condition=Q(state="pending"), name="second_opinion_waiting")]


class GoldClip(models.Model):
    """A labeled clip a supervisor heard and wrote the reference transcript for; served now and
    then to measure each annotator's accuracy. It lasts as long as the clip's audio."""

    clip = models.OneToOneField(Clip, on_delete=models.PROTECT, related_name="gold")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="gold_clips")
    reference_text = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(reference_text=""), name="gold_has_reference")]


class GoldResult(models.Model):
    """How far an annotator's transcript of a gold clip was from the reference (word error rate).
    The annotator's text itself is not kept."""

    assignment = models.OneToOneField(Assignment, on_delete=models.PROTECT, related_name="gold_result")
    # Kept when the gold clip goes (deleted by its owner or by retention): the score holds no content.
    gold = models.ForeignKey(GoldClip, on_delete=models.SET_NULL, null=True, related_name="results")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+")
    word_error_rate = models.FloatField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["project", "annotator", "created_at"], name="gold_result_by_annotator")]


class ExportFormat(models.TextChoices):
    JSONL = "jsonl", "JSON Lines (data.jsonl)"
    NEMO = "nemo", "NeMo manifest (manifest.json)"
    HF = "hf", "Hugging Face audio folder (metadata.jsonl)"
    WEBVTT = "webvtt", "WebVTT per clip (vtt/)"


class ExportState(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"  # removed after EXPORT_KEEP_DAYS, or because a clip in it was deleted


class ExportJob(models.Model):
    """A project's settled, de-identified transcripts and audio, written by a worker into one ZIP."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="exports")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    formats = models.JSONField()
    state = models.CharField(max_length=16, choices=ExportState.choices, default=ExportState.QUEUED)
    total = models.PositiveIntegerField(default=0)  # clips considered
    done = models.PositiveIntegerField(default=0)  # clips considered so far
    exported = models.PositiveIntegerField(default=0)
    left_out = models.JSONField(default=dict)  # {reason: clips}
    path = models.CharField(max_length=200, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    # The export's own data key, wrapped by the master key (labeling.vault): the file is encrypted
    # with it, and it is destroyed when the export expires or may no longer be taken out.
    wrapped_key = models.BinaryField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(state__in=ExportState.values), name="export_state_valid")]


class ExportItem(models.Model):
    """A clip in an export, so that deleting the clip also removes the exports still on the server."""

    export = models.ForeignKey(ExportJob, on_delete=models.CASCADE, related_name="items")
    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="export_items")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["export", "clip"], name="one_item_per_clip_and_export")]


class BlobDeletion(models.Model):
    """A stored object (audio, an envelope, an export) to delete: listed in the transaction that
    makes it unwanted, deleted once that commits, and the listing removed then. One left here (the
    storage did not answer, the process died) is deleted by the next sweep (labeling.vault)."""

    name = models.CharField(max_length=300, primary_key=True)
    created_at = models.DateTimeField(default=timezone.now)


# Limits, and groups of states, that several subdomains use.
MAX_TRANSCRIPT_CHARS = 5000
# States in which a clip still has audio that a revocation must take away.
LIVE_STATES = (ClipStatus.RECEIVED, ClipStatus.PROCESSING, ClipStatus.QUEUED, ClipStatus.ASSIGNED)
# The reason of a clip held because storage was full or read-only; it keeps its encrypted original
# until the pipeline can run again, so withdrawal and deletion treat it as live.
STORAGE_HOLD = "storage_unavailable"
ESCALATION_UNRESOLVED = (EscalationState.OPEN, EscalationState.CLAIMED)
# Clips that do not count against a project's quota: nobody will review them.
QUOTA_FREE_STATES = (ClipStatus.DISCARDED, ClipStatus.WITHDRAWN, ClipStatus.DELETED)
OPINION_WAITING = (SecondOpinionState.PENDING, SecondOpinionState.ANSWERING)
# Assignments whose answer settles a second opinion (asked, or an agreement sample).
ANSWERING_PURPOSES = (Purpose.SECOND_OPINION, Purpose.AGREEMENT)
MAX_ENTITIES = 100
MAX_NOTE_CHARS = 1000
MAX_REASON_CHARS = 2000
MAX_OPINION_SECONDS = 30.0
MAX_OPEN_OPINIONS_PER_ASSIGNMENT = 3
