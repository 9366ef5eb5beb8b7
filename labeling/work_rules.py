"""Annotators' work rules: shift time in any 24 hours, clips per shift, breaks, pace between claims.

Pure calculations over times the services read under the shift's row lock; each refusal is an
ApplicationError the page can show as it is, with Retry-After where waiting helps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.errors import ApplicationError, Refused, TooMany

DAY = timedelta(hours=24)


@dataclass(frozen=True)
class WorkRules:
    max_shift: timedelta  # shift time allowed in any 24 hours
    max_clips: int  # clips claimed per shift
    break_after: timedelta  # continuous work before a break is required
    break_length: timedelta  # a pause this long is a break
    min_claim_interval: timedelta
    flag_break: timedelta = timedelta(minutes=5)  # pause after flagging a clip
    exposure_budget: timedelta = timedelta(minutes=10)  # flagged content heard per shift


@dataclass(frozen=True)
class ShiftActivity:
    started_at: datetime
    last_claim_at: datetime | None
    last_active_at: datetime | None
    stretch_started_at: datetime | None
    clips_claimed: int
    flag_break_until: datetime | None = None


def worked(shifts: list[tuple[datetime, datetime | None]], *, at: datetime, now: datetime) -> timedelta:
    """Shift time in the 24 hours before `at`; a shift still open counts up to `now`."""
    total = timedelta(0)
    for started, ended in shifts:
        start, end = max(started, at - DAY), min(ended or now, at)
        if end > start:
            total += end - start
    return total


def rest_until(rules: WorkRules, shifts: list[tuple[datetime, datetime | None]], now: datetime) -> datetime | None:
    """When a new shift may start (None: now): the first minute at which the shift time in the
    24 hours before it is under the limit, if nobody works in between."""
    if worked(shifts, at=now, now=now) < rules.max_shift:
        return None
    low, high = now, now + DAY  # worked() only falls as `at` moves on, and is 0 a day later
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) / 2
        if worked(shifts, at=middle, now=now) < rules.max_shift:
            high = middle
        else:
            low = middle
    return high


def _minutes(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds() / 60))


def _retry_after(delta: timedelta) -> int:
    """Whole seconds, at least one: when asking again may succeed."""
    return max(1, math.ceil(delta.total_seconds()))


def shift_start_refusal(rules: WorkRules, shifts: list[tuple[datetime, datetime | None]],
                        now: datetime) -> ApplicationError | None:
    until = rest_until(rules, shifts, now)
    if until is None:
        return None
    hours = rules.max_shift.total_seconds() / 3600
    return TooMany(
        "rest_required", f"You have worked {hours:g} h in the last 24 h. Rest: a new shift can start in "
        f"{_minutes(until - now)} min.", retry_after=_retry_after(until - now))


def claim_refusal(rules: WorkRules, activity: ShiftActivity, worked_today: timedelta,
                  now: datetime) -> ApplicationError | None:
    """Why this annotator may not take another clip now, or None. The order matters: a limit that
    ends the shift comes before one that only asks to wait."""
    if worked_today >= rules.max_shift:
        hours = rules.max_shift.total_seconds() / 3600
        return Refused("shift_over", f"You have worked {hours:g} h in the last 24 h: end your shift and rest.")
    if activity.clips_claimed >= rules.max_clips:
        return Refused("quota_reached", f"This shift's {rules.max_clips} clips are done: end your shift.")
    if activity.last_active_at is not None and activity.stretch_started_at is not None:
        pause = now - activity.last_active_at
        if pause < rules.break_length and now - activity.stretch_started_at >= rules.break_after:
            wait = rules.break_length - pause
            return TooMany("break_required", f"Break time: next clip in {_minutes(wait)} min.",
                           retry_after=_retry_after(wait))
    if activity.flag_break_until is not None and now < activity.flag_break_until:
        wait = activity.flag_break_until - now
        return TooMany("flag_pause", f"Take a pause after that clip: next clip in {_minutes(wait)} min. "
                       "A supervisor has it now.", retry_after=_retry_after(wait))
    if activity.last_claim_at is not None and now - activity.last_claim_at < rules.min_claim_interval:
        wait = rules.min_claim_interval - (now - activity.last_claim_at)
        return TooMany("too_fast", f"Take a moment: next clip in {math.ceil(wait.total_seconds())} s.",
                       retry_after=_retry_after(wait))
    return None


def stretch_start(rules: WorkRules, activity: ShiftActivity, now: datetime) -> datetime:
    """Where the stretch of continuous work that a claim at `now` belongs to began."""
    if activity.last_active_at is None or activity.stretch_started_at is None:
        return now
    if now - activity.last_active_at >= rules.break_length:
        return now
    return activity.stretch_started_at
