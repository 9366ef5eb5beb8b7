"""An answer shaped by a kept output serializer is the answer a new serializer gives, answer after
answer and from several threads at once."""

import uuid
from datetime import UTC, datetime, timedelta

from core.output import represented
from labeling.review.apis import AssignmentOutputSerializer
from tests.factories import in_threads


def body(n: int) -> dict:
    return {"id": uuid.UUID(int=n), "duration_seconds": n / 10, "language": "en", "draft": f"text {n}",
            "lease_expires_at": datetime(2026, 12, 6, tzinfo=UTC) + timedelta(seconds=n), "clips_done": n,
            "audio_token": f"token-{n}", "purpose": "transcription",
            "range": {"start_seconds": 0.5, "end_seconds": n} if n % 2 else None,
            "saved": {"text": f"saved {n}"} if n % 3 else None, "muted_category": bool(n % 2),
            "project": {"name": f"p{n}", "intents": ["a", str(n)], "entity_types": [], "flags": ["danger"]}}


def test_a_kept_serializer_answers_as_a_new_one_does():
    for n in range(5):
        assert represented(AssignmentOutputSerializer, body(n)) == AssignmentOutputSerializer(body(n)).data


def test_answers_shaped_in_several_threads_do_not_mix():
    wrong = []

    def shape(n: int) -> None:
        for _ in range(300):
            if represented(AssignmentOutputSerializer, body(n)) != AssignmentOutputSerializer(body(n)).data:
                wrong.append(n)

    in_threads(shape, 8)
    assert wrong == []
