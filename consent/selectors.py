"""Reads of accounts, the review policy's versions, their consent and their part of the access ledger."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from consent.models import Account, ConsentRecord, LedgerEntry, PolicyVersion


def consent_current(*, account_id: uuid.UUID) -> ConsentRecord | None:
    return ConsentRecord.objects.filter(account_id=account_id).order_by("-version").first()


def policy_current() -> PolicyVersion | None:
    """The policy in force: the version published last."""
    return PolicyVersion.objects.filter(number__isnull=False).order_by("-number").first()


def policy_history() -> list[PolicyVersion]:
    """Every published version, newest first; drafts are nobody's business but the admin's."""
    return list(PolicyVersion.objects.filter(number__isnull=False).order_by("-number"))


def consent_is_active(*, account_id: uuid.UUID) -> bool:
    """True when the newest consent record grants human review, under whichever policy version:
    ingest's gate. Whether that consent still counts for human review after a material change of
    the policy is the servability rule's (labeling.servability.consent_refusal)."""
    granted = (
        ConsentRecord.objects.filter(account_id=account_id).order_by("-version").values_list("granted", flat=True)[:1]
    )
    return bool(granted and granted[0])


def account_by_external_id(*, external_id: str) -> Account | None:
    return Account.objects.filter(external_id=external_id).first()


def consent_history(*, account_id: uuid.UUID) -> list[ConsentRecord]:
    return list(ConsentRecord.objects.filter(account_id=account_id).order_by("-version"))


@dataclass(frozen=True)
class LedgerLine:
    """One line of a data subject's own ledger: what happened to their data, when, by whom."""

    at: datetime
    what: str  # the ledger action; escalation steps as "escalation_<step>", a legal hold as "legal_hold"
    purpose: str
    reviewer: str  # "you", "system", or a reviewer's stable pseudonym, never their name
    clip: uuid.UUID | None
    until: str | None  # when a legal hold ends


def reviewer_pseudonym(actor_id: int) -> str:
    """Stable per reviewer, meaningless outside the platform."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"reviewer:{actor_id}".encode(), hashlib.sha256).hexdigest()
    return f"Reviewer {digest[:8]}"


def ledger_for_account(*, account: Account, limit: int = 500) -> list[LedgerLine]:
    """The account's part of the access ledger, newest first."""
    lines = []
    for entry in LedgerEntry.objects.filter(account_id=account.id).order_by("-id")[:limit]:
        step = entry.detail.get("step", "")
        what = entry.action
        if entry.action == LedgerEntry.Action.ESCALATION:
            what = "legal_hold" if step == "legal_hold" else f"escalation_{step}"
        if entry.actor_id is None:
            who = "system"
        elif entry.actor_id == account.user_id:
            who = "you"
        else:
            who = reviewer_pseudonym(entry.actor_id)
        lines.append(LedgerLine(entry.created_at, what, entry.detail.get("purpose", ""), who, entry.clip_id,
                                entry.detail.get("expires_at")))
    return lines
