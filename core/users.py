"""Looking up a login by the name typed into a form, and failed sign-ins with names no account has."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from core.throttle import blocked_until, failure_noted


def user_named(username: str | None) -> AbstractBaseUser | None:
    """The account a typed user name names, if any."""
    User = get_user_model()
    return User._default_manager.filter(**{User.USERNAME_FIELD: username}).first() if username else None


# ---------------------------------------------------------------- failed sign-ins with names no account has


def unknown_name_failed(username: str, *, now: datetime) -> None:
    """Remember a failed sign-in with a name that names no account, for the lockout window, so that
    after as many failures it is locked like an account: the answer never tells which names exist."""
    failure_noted("login", _name(username), now=now, window_seconds=settings.LOGIN_LOCKOUT_MINUTES * 60,
                  keep=settings.LOGIN_LOCKOUT_FAILURES)


def unknown_name_locked_until(username: str, *, now: datetime) -> datetime | None:
    """As consent's login_locked_until for an account: locked while LOGIN_LOCKOUT_FAILURES failures
    lie within the last LOGIN_LOCKOUT_MINUTES."""
    return blocked_until("login", _name(username), now=now, window_seconds=settings.LOGIN_LOCKOUT_MINUTES * 60,
                         limit=settings.LOGIN_LOCKOUT_FAILURES)


def _name(username: str) -> str:
    """Exactly as typed, as user_named matches it: 'ANN-1' is another name than 'ann-1'."""
    return username or ""
