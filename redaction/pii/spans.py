"""The spans recognizers return, and how overlapping spans become one."""

from __future__ import annotations

from dataclasses import dataclass

NAME, NUMBER, EMAIL, ADDRESS = "NAME", "NUMBER", "EMAIL", "ADDRESS"
# Dates of birth and spelled codes (plates, postcodes, references) are masked as NUMBER: the four kinds
# are what drafts, exports and the API promise.
PRIORITY = {EMAIL: 0, ADDRESS: 1, NUMBER: 2, NAME: 3}


@dataclass(frozen=True)
class PiiSpan:
    kind: str
    first: int  # token indices, inclusive
    last: int


class PiiError(Exception):
    """Detection could not run; the clip must be held."""


def merge(spans: list[PiiSpan]) -> list[PiiSpan]:
    """Overlapping or adjacent spans become one; it keeps the kind that says most (email over number)."""
    merged: list[PiiSpan] = []
    for span in sorted(spans, key=lambda s: (s.first, s.last)):
        if merged and span.first <= merged[-1].last + 1:
            previous = merged[-1]
            kind = min(previous.kind, span.kind, key=PRIORITY.__getitem__)
            merged[-1] = PiiSpan(kind, previous.first, max(previous.last, span.last))
        else:
            merged.append(span)
    return merged
