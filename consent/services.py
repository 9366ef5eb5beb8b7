"""Writes of accounts and consent; revoking consent withdraws the subject's clips at once."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from consent.models import Account, ConsentRecord
from labeling.services import clips_withdraw_for_account


def account_create(*, external_id: str, first_name: str = "", user: AbstractBaseUser | None = None) -> Account:
    return Account.objects.create(external_id=external_id, first_name=first_name, user=user)


def consent_set(*, account: Account, granted: bool, channel: str, policy_version: str | None = None) -> ConsentRecord:
    """Append a consent version. Revocation withdraws queued and assigned clips in the same transaction."""
    policy = policy_version or settings.REVIEW_POLICY_VERSION
    with transaction.atomic():
        # Serializes concurrent changes for one account so versions stay gapless.
        Account.objects.select_for_update().filter(pk=account.pk).exists()
        last = ConsentRecord.objects.filter(account=account).order_by("-version").first()
        if last is not None and last.granted == granted and last.policy_version == policy:
            return last
        record = ConsentRecord.objects.create(
            account=account,
            version=(last.version + 1) if last else 1,
            granted=granted,
            policy_version=policy,
            channel=channel,
        )
        if not granted:
            clips_withdraw_for_account(account_id=account.id)
    return record
