"""Checks of free text every app applies the same way."""

from __future__ import annotations

from core.errors import ApplicationError


def bounded_text(value: str, *, field: str, limit: int, required: bool, what: str) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ApplicationError(f"missing_{field}", f"Give {what}.", fields={field: ["This field is required."]})
    if len(value) > limit:
        raise ApplicationError(f"{field}_too_long", f"{what[0].upper()}{what[1:]} holds at most {limit} characters.",
                               fields={field: ["Too long."]})
    return value
