"""Reads of accounts and their consent."""

from __future__ import annotations

import uuid

from consent.models import Account, ConsentRecord


def consent_current(*, account_id: uuid.UUID) -> ConsentRecord | None:
    return ConsentRecord.objects.filter(account_id=account_id).order_by("-version").first()


def consent_is_active(*, account_id: uuid.UUID) -> bool:
    """True only when the newest consent record grants human review."""
    granted = (
        ConsentRecord.objects.filter(account_id=account_id).order_by("-version").values_list("granted", flat=True)[:1]
    )
    return bool(granted and granted[0])


def account_by_external_id(*, external_id: str) -> Account | None:
    return Account.objects.filter(external_id=external_id).first()


def consent_history(*, account_id: uuid.UUID) -> list[ConsentRecord]:
    return list(ConsentRecord.objects.filter(account_id=account_id).order_by("-version"))
