"""Logins and failed logins go to the access ledger (connected in ConsentConfig.ready)."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.utils import timezone

from consent.models import LedgerEntry
from consent.services import ledger_append
from core.users import unknown_name_failed, user_named


@receiver(user_logged_in, dispatch_uid="ledger_login")
def record_login(sender, request, user, **kwargs):
    ledger_append(action=LedgerEntry.Action.LOGIN, actor_id=user.pk)


@receiver(user_login_failed, dispatch_uid="ledger_login_failed")
def record_login_failed(sender, credentials, request=None, **kwargs):
    # The typed user name may itself be personal data: only the internal id of an account it names.
    named = user_named(credentials.get("username"))
    ledger_append(action=LedgerEntry.Action.LOGIN_FAILED, actor_id=named.pk if named else None)
    if named is None:
        unknown_name_failed(credentials.get("username") or "", now=timezone.now())
