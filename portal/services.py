"""What a data subject's choice sets in motion across the apps."""

from __future__ import annotations

from django.db import transaction

from consent.models import Account, ConsentRecord
from consent.services import consent_append
from labeling.custody.services import clips_withdraw_for_account


def consent_set(*, account: Account, granted: bool, channel: str, policy_version: str | None = None) -> ConsentRecord:
    """Record the owner's choice under the current policy (`policy_version`: the version they were
    shown; a yes must name the current one, consent.services.consent_append); a yes after a
    material change of the policy is the owner's confirmation. A revocation withdraws their queued
    and assigned clips in the same transaction, so no clip is lent between the two."""
    with transaction.atomic():
        record, changed = consent_append(account=account, granted=granted, channel=channel,
                                         policy_version=policy_version)
        if changed and not granted:
            clips_withdraw_for_account(account_id=account.id)
    return record
