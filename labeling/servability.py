"""May this clip reach a person now, for this purpose? The one rule every lending and listening path
asks: the claim statement (through `lendable_sql`, written beside the Python so the two cannot drift
apart), prefetch, second opinions, gold lending, quality reviews, supervisors' listening, the audio
stream and its envelope, export building and export download.

A clip may reach a person when all of these hold:
- its owner's newest consent record grants human review;
- its owner has not asked for it to be deleted (a deletion that waits for a legal hold to end);
- no legal hold is in force on it, unless the purpose is the review of its escalation: a held clip
  is heard only by the supervisor handling the escalation the hold was placed from (the escalation's
  own claimant check lets nobody else reach that purpose);
- its state lets that purpose hear it (SERVABLE_STATES).
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from consent.models import ConsentRecord
from core.errors import Gone
from labeling.models import Clip, ClipStatus, LegalHold, Purpose

EXPORT = "export"  # not a person's assignment: a supervisor takes the clip out in a training export
LEND = "lend"  # a queued clip about to be lent for transcription (the claim statement: lendable_sql)

# The clip states in which each purpose may hear the clip.
SERVABLE_STATES = {
    LEND: {ClipStatus.QUEUED},
    Purpose.TRANSCRIPTION: {ClipStatus.ASSIGNED},
    Purpose.SECOND_OPINION: {ClipStatus.ASSIGNED, ClipStatus.LABELED},
    Purpose.ESCALATION_REVIEW: {ClipStatus.ESCALATED},
    Purpose.ADJUDICATION: {ClipStatus.ASSIGNED, ClipStatus.LABELED},
    Purpose.GOLD: {ClipStatus.LABELED},
    Purpose.AGREEMENT: {ClipStatus.LABELED},
    Purpose.QUALITY_REVIEW: {ClipStatus.LABELED},
    EXPORT: {ClipStatus.LABELED},
}
# What the lending paths load of a clip: what the rule reads, and the flag category they also check.
SERVABILITY_FIELDS = ("id", "account_id", "status", "wrapped_key", "deletion_requested_at", "flag_category")
# Purposes that may hear a clip under a legal hold.
HOLD_PURPOSES = frozenset({Purpose.ESCALATION_REVIEW})

# Why a clip may not reach a person, in the words the person refused is told.
REFUSALS = {
    "state": "This clip is no longer in review.",
    "audio_gone": "This clip's audio no longer exists.",
    "deletion_requested": "This clip's owner asked for it to be deleted.",
    "legal_hold": "A legal hold keeps this clip out of review.",
    "consent": "This clip was withdrawn by its owner.",
}


def refusal(clip: Clip, purpose: str, *, now: datetime, status: str | None = None) -> str | None:
    """None when the clip may reach a person for `purpose` now; otherwise the reason (a key of
    REFUSALS). `status`: decide as if the clip were in that state (may it go back to the queue?).
    `clip` needs status, wrapped_key, deletion_requested_at and account_id loaded; holds and consent
    are read in one statement, and only when the row itself does not already refuse."""
    known = {"status": status or clip.status, "has_audio": clip.wrapped_key is not None,
             "deletion_requested": clip.deletion_requested_at is not None}
    reason = _decide(purpose, **known, held=False, consent=True)
    if reason is not None:
        return reason
    return _decide(purpose, **known, **_held_and_consent(clip, now))


def servable(clip: Clip, purpose: str, *, now: datetime) -> bool:
    return refusal(clip, purpose, now=now) is None


def refuse_unless_servable(clip: Clip, purpose: str, now: datetime) -> None:
    """The 410 that tells a person why this clip may not reach them now."""
    reason = refusal(clip, purpose, now=now)
    if reason is None:
        return
    code = reason if reason in ("deletion_requested", "legal_hold") else "withdrawn"
    message = REFUSALS["audio_gone" if reason == "state" else reason]
    raise Gone(code, message)


def refusals(clips: QuerySet, purpose: str, *, now: datetime) -> dict:
    """The same rule over many clips in one query: {clip id: reason} for those that may not."""
    rows = _annotated(clips, now).values_list("id", "status", "wrapped_key", "deletion_requested_at", "held", "consent")
    found = {}
    for clip_id, status, wrapped_key, deletion_requested_at, held, consent in rows.iterator():
        reason = _decide(purpose, status=status, has_audio=wrapped_key is not None,
                         deletion_requested=deletion_requested_at is not None, held=held, consent=bool(consent))
        if reason is not None:
            found[clip_id] = reason
    return found


def _held_and_consent(clip: Clip, now: datetime) -> dict:
    """Whether a hold is in force on the clip, and whether its owner's newest consent grants review,
    in one statement made of lendable_sql's own fragments."""
    params = [Clip._meta.pk.get_db_prep_value(clip.id, connection),
              LegalHold._meta.get_field("expires_at").get_db_prep_value(now, connection),
              ConsentRecord._meta.get_field("account").get_db_prep_value(clip.account_id, connection)]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_hold_in_force_sql('%s')}, {_newest_consent_sql('%s')}", params)
        held, granted = cursor.fetchone()
    return {"held": bool(held), "consent": bool(granted)}


def _annotated(clips: QuerySet, now: datetime) -> QuerySet:
    """Each clip with whether a hold is in force on it (held) and its owner's newest consent
    (consent), from lendable_sql's own fragments."""
    table = Clip._meta.db_table
    held_param = LegalHold._meta.get_field("expires_at").get_db_prep_value(now, connection)
    return clips.annotate(held=RawSQL(_hold_in_force_sql(f"{table}.id"), [held_param]),
                          consent=RawSQL(_newest_consent_sql(f"{table}.account_id"), []))


def _decide(purpose: str, *, status: str, has_audio: bool, deletion_requested: bool, held: bool,
            consent: bool) -> str | None:
    if status not in SERVABLE_STATES[purpose]:
        return "state"
    if not has_audio:
        return "audio_gone"
    if deletion_requested:
        return "deletion_requested"
    if held and purpose not in HOLD_PURPOSES:
        return "legal_hold"
    if not consent:
        return "consent"
    return None


def lendable_sql(alias: str) -> str:
    """_decide for the claim statement, over the clip row `alias`, for purpose LEND (a queued clip
    about to be lent; the statement marks it assigned): one parameter, now, for the holds."""
    return f"""{alias}.status = '{ClipStatus.QUEUED}'
              AND {alias}.wrapped_key IS NOT NULL
              AND {alias}.deletion_requested_at IS NULL
              AND NOT {_hold_in_force_sql(f"{alias}.id")}
              AND {_newest_consent_sql(f"{alias}.account_id")}"""


def _hold_in_force_sql(clip: str) -> str:
    """True when a legal hold on the clip `clip` (a column or a placeholder) is in force; one parameter, now."""
    return f"EXISTS (SELECT 1 FROM {LegalHold._meta.db_table} lh WHERE lh.clip_id = {clip} AND lh.expires_at > %s)"


def _newest_consent_sql(account: str) -> str:
    """Whether the newest consent record of the account `account` (a column or a placeholder) grants review."""
    return (f"(SELECT r.granted FROM {ConsentRecord._meta.db_table} r WHERE r.account_id = {account} "
            "ORDER BY r.version DESC LIMIT 1)")
