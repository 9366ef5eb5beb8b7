"""Word error rate between two transcripts: how second opinions, gold clips and benchmarks compare text."""

from __future__ import annotations

import re

_NOT_WORD = re.compile(r"[^a-z0-9' ]")


def words(text: str) -> list[str]:
    """Lowercase words without punctuation; masking tokens such as [NAME] count as the word 'name'."""
    return [w.strip("'") for w in _NOT_WORD.sub(" ", text.lower()).split() if w.strip("'")]


def word_errors(reference: list[str], hypothesis: list[str]) -> tuple[int, int]:
    """(substitutions + deletions + insertions, reference length): Levenshtein over words."""
    row = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, 1):
        diagonal, row[0] = row[0], i
        for j, hyp_word in enumerate(hypothesis, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (ref_word != hyp_word))
    return row[len(hypothesis)], len(reference)


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Errors per reference word; 0 when both are empty, 1 per inserted word when only the reference is."""
    errors, length = word_errors(words(reference), words(hypothesis))
    return errors / length if length else float(errors)
