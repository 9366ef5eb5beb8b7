"""Looking up a login by the name typed into a form, and failed sign-ins with names no account has."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache


def user_named(username: str | None) -> AbstractBaseUser | None:
    """The account a typed user name names, if any."""
    User = get_user_model()
    return User._default_manager.filter(**{User.USERNAME_FIELD: username}).first() if username else None


# ---------------------------------------------------------------- failed sign-ins with names no account has


def _failures_key(username: str) -> str:
    """A keyed hash of the typed name: the cache never holds the name itself."""
    name = (username or "").strip().lower()
    return "login-failures:" + hmac.new(settings.SECRET_KEY.encode(), name.encode(), hashlib.sha256).hexdigest()


def _recent_failures(key: str, now: datetime) -> list[float]:
    since = now.timestamp() - settings.LOGIN_LOCKOUT_MINUTES * 60
    return sorted(t for t in cache.get(key, []) if t > since)


def unknown_name_failed(username: str, *, now: datetime) -> None:
    """Remember a failed sign-in with a name that names no account, for the lockout window, so that
    after as many failures it is locked like an account: the answer never tells which names exist."""
    key = _failures_key(username)
    times = _recent_failures(key, now)[-settings.LOGIN_LOCKOUT_FAILURES:] + [now.timestamp()]
    cache.set(key, times, timeout=settings.LOGIN_LOCKOUT_MINUTES * 60)


def unknown_name_locked_until(username: str, *, now: datetime) -> datetime | None:
    """As consent's login_locked_until for an account: locked while LOGIN_LOCKOUT_FAILURES failures
    lie within the last LOGIN_LOCKOUT_MINUTES."""
    times = _recent_failures(_failures_key(username), now)
    if len(times) < settings.LOGIN_LOCKOUT_FAILURES:
        return None
    oldest = times[-settings.LOGIN_LOCKOUT_FAILURES]
    return datetime.fromtimestamp(oldest, tz=UTC) + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
