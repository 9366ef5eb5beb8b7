"""May this clip reach a person now, for this purpose? The one rule every lending and listening path
asks: the claim statement (through `lendable_sql`, written beside the Python so the two cannot drift
apart), prefetch, second opinions, gold lending, quality reviews, supervisors' listening, the audio
stream and its envelope, export building and export download.

A clip may reach a person when all of these hold:
- its owner's newest consent record grants human review, under a policy version no older than the
  latest one published as a material change (consent given under an earlier one counts again once
  the owner confirms the new text, which is a new consent record);
- its owner has not asked for it to be deleted (a deletion that waits for a legal hold to end);
- no legal hold is in force on it, unless the purpose is the review of its escalation: a held clip
  is heard only by the supervisor handling the escalation the hold was placed from (the escalation's
  own claimant check lets nobody else reach that purpose);
- its state lets that purpose hear it (SERVABLE_STATES).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from consent.models import ConsentRecord, PolicyVersion
from core.errors import Gone
from core.rows import db_value
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
    "policy": "This clip's owner has not yet confirmed the changed review policy.",
}
# The 410 code a refusal is told with; every other reason reads "withdrawn".
REFUSAL_CODES = {"deletion_requested": "deletion_requested", "legal_hold": "legal_hold",
                 "policy": "policy_unconfirmed"}
# Refusals that end when the owner confirms the changed policy: a clip so refused may wait in the queue.
AWAITING_OWNER = frozenset({"policy"})
# What the consent fragment (_consent_standing_sql) answers.
CONSENT_COUNTS = 2  # the newest record grants review under the current policy, or one changed since only immaterially
CONSENT_UNCONFIRMED = 1  # it grants review under a version older than the latest material change


def refusal(clip: Clip, purpose: str, *, now: datetime, status: str | None = None,
            read: dict | None = None) -> str | None:
    """None when the clip may reach a person for `purpose` now; otherwise the reason (a key of
    REFUSALS). `status`: decide as if the clip were in that state (may it go back to the queue?).
    `clip` needs status, wrapped_key, deletion_requested_at and account_id loaded; holds and consent
    are read in one statement, and only when the row itself does not already refuse. `read`: held
    and consent as the statement that loaded the clip read them beside it (rule_columns_sql, as of
    `now`), so that nothing more is read."""
    known = {"status": status or clip.status, "has_audio": clip.wrapped_key is not None,
             "deletion_requested": clip.deletion_requested_at is not None}
    reason = decide(purpose, **known, held=False, consent=CONSENT_COUNTS)
    if reason is not None:
        return reason
    return decide(purpose, **known, **(read if read is not None else _held_and_consent(clip, now)))


def servable(clip: Clip, purpose: str, *, now: datetime) -> bool:
    return refusal(clip, purpose, now=now) is None


def refuse_unless_servable(clip: Clip, purpose: str, now: datetime, *, read: dict | None = None) -> None:
    """The 410 that tells a person why this clip may not reach them now (`read`: as for refusal)."""
    reason = refusal(clip, purpose, now=now, read=read)
    if reason is None:
        return
    code = REFUSAL_CODES.get(reason, "withdrawn")
    message = REFUSALS["audio_gone" if reason == "state" else reason]
    raise Gone(code, message)


def refusals(clips: QuerySet, purpose: str, *, now: datetime) -> dict:
    """The same rule over many clips in one query: {clip id: reason} for those that may not."""
    rows = _annotated(clips, now).values_list("id", "status", "wrapped_key", "deletion_requested_at", "held", "consent")
    found = {}
    for clip_id, status, wrapped_key, deletion_requested_at, held, consent in rows.iterator():
        reason = decide(purpose, status=status, has_audio=wrapped_key is not None,
                         deletion_requested=deletion_requested_at is not None, held=held, consent=consent)
        if reason is not None:
            found[clip_id] = reason
    return found


def _held_and_consent(clip: Clip, now: datetime) -> dict:
    """Whether a hold is in force on the clip, and how its owner's consent stands, in one statement
    made of lendable_sql's own fragments."""
    params = [Clip._meta.pk.get_db_prep_value(clip.id, connection),
              LegalHold._meta.get_field("expires_at").get_db_prep_value(now, connection),
              ConsentRecord._meta.get_field("account").get_db_prep_value(clip.account_id, connection)]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_hold_in_force_sql('%s')}, {_consent_standing_sql('%s')}", params)
        held, standing = cursor.fetchone()
    return {"held": bool(held), "consent": standing}


def _annotated(clips: QuerySet, now: datetime) -> QuerySet:
    """Each clip with whether a hold is in force on it (held) and how its owner's consent stands
    (consent), from lendable_sql's own fragments."""
    table = Clip._meta.db_table
    return clips.annotate(held=RawSQL(_hold_in_force_sql(f"{table}.id"), rule_params(now)),
                          consent=RawSQL(_consent_standing_sql(f"{table}.account_id"), []))


def decide(purpose: str, *, status: str, has_audio: bool, deletion_requested: bool, held: bool,
           consent: int | None) -> str | None:
    """The rule over what it reads: None when the clip may reach a person for `purpose`, otherwise
    the reason (a key of REFUSALS). `held` and `consent`: what rule_columns_sql answers (consent
    None: the owner has no record)."""
    if status not in SERVABLE_STATES[purpose]:
        return "state"
    if not has_audio:
        return "audio_gone"
    if deletion_requested:
        return "deletion_requested"
    if held and purpose not in HOLD_PURPOSES:
        return "legal_hold"
    if consent == CONSENT_UNCONFIRMED:
        return "policy"
    if consent != CONSENT_COUNTS:
        return "consent"
    return None


def rule_params(now: datetime) -> list:
    """The parameter the rule's fragments take (rule_columns_sql, lendable_sql): now, for the holds."""
    return [db_value(LegalHold, "expires_at", now)]


def rule_columns_sql(alias: str) -> str:
    """What the rule reads beyond the clip row `alias` itself, as two columns of a statement that
    reads that row: held (a legal hold is in force) and consent (how its owner's consent stands);
    one parameter, now, for the holds. For a path that asks about one clip often: one statement."""
    return f"{_hold_in_force_sql(f'{alias}.id')} AS held, {_consent_standing_sql(f'{alias}.account_id')} AS consent"


def lendable_sql(alias: str) -> str:
    """decide for the claim statement, over the clip row `alias`, for purpose LEND (a queued clip
    about to be lent; the statement marks it assigned): one parameter, now, for the holds."""
    return f"""{alias}.status = '{ClipStatus.QUEUED}'
              AND {alias}.wrapped_key IS NOT NULL
              AND {alias}.deletion_requested_at IS NULL
              AND NOT {_hold_in_force_sql(f"{alias}.id")}
              AND {_consent_standing_sql(f"{alias}.account_id")} = {CONSENT_COUNTS}"""


def _hold_in_force_sql(clip: str) -> str:
    """True when a legal hold on the clip `clip` (a column or a placeholder) is in force; one parameter, now."""
    return f"EXISTS (SELECT 1 FROM {LegalHold._meta.db_table} lh WHERE lh.clip_id = {clip} AND lh.expires_at > %s)"


def consent_refusal(*, account_id: uuid.UUID) -> str | None:
    """The consent part of the rule for an owner: None when their consent counts for human review,
    "policy" when it was given under a version older than the latest material change (they have
    yet to confirm the new text), "consent" when they have not consented."""
    param = ConsentRecord._meta.get_field("account").get_db_prep_value(account_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_consent_standing_sql('%s')}", [param])
        standing = cursor.fetchone()[0]
    return {CONSENT_COUNTS: None, CONSENT_UNCONFIRMED: "policy"}.get(standing, "consent")


def _consent_standing_sql(account: str) -> str:
    """How the newest consent record of the account `account` (a column or a placeholder) stands:
    CONSENT_COUNTS when it grants review under a policy version published no earlier than the
    latest material change, CONSENT_UNCONFIRMED when it grants review under an earlier one (or one
    the policy table does not know), 0 when it refuses, NULL when there is none. The newest record
    by its unique (account, version) index, its version by the policy's unique name, and the
    latest material change once per statement (it does not depend on the row)."""
    policy = PolicyVersion._meta.db_table
    latest_material = f"(SELECT COALESCE(MAX(m.number), 0) FROM {policy} m WHERE m.material)"
    return (f"(SELECT CASE WHEN NOT r.granted THEN 0 WHEN p.number >= {latest_material} THEN {CONSENT_COUNTS} "
            f"ELSE {CONSENT_UNCONFIRMED} END FROM {ConsentRecord._meta.db_table} r "
            f"LEFT JOIN {policy} p ON p.version = r.policy_version WHERE r.account_id = {account} "
            "ORDER BY r.version DESC LIMIT 1)")
