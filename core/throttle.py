"""Counting recent failures of one kind from one source in the cache, under a keyed hash of the
source (a typed name, an address), so that the cache never holds the source itself."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache


def _key(scope: str, source: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"{scope}:{source}".encode(), hashlib.sha256).hexdigest()
    return f"throttle:{scope}:{digest}"


def recent_failures(scope: str, source: str, *, now: datetime, window_seconds: int) -> list[float]:
    """The times (epoch seconds, oldest first) of this source's failures within the window."""
    since = now.timestamp() - window_seconds
    return sorted(t for t in cache.get(_key(scope, source), []) if t > since)


def failure_noted(scope: str, source: str, *, now: datetime, window_seconds: int, keep: int) -> None:
    """Remember one more failure, keeping the newest `keep` within the window."""
    times = recent_failures(scope, source, now=now, window_seconds=window_seconds)[-keep:] + [now.timestamp()]
    cache.set(_key(scope, source), times, timeout=window_seconds)


def blocked_until(scope: str, source: str, *, now: datetime, window_seconds: int, limit: int) -> datetime | None:
    """While `limit` failures of this source lie within the window: when the oldest of them leaves it."""
    times = recent_failures(scope, source, now=now, window_seconds=window_seconds)
    if len(times) < limit:
        return None
    return datetime.fromtimestamp(times[-limit], tz=UTC) + timedelta(seconds=window_seconds)
