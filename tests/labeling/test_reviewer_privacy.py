"""Nothing a reviewer receives names the speaker: no account, serial, first name, time or clip id."""

import pytest
from django.utils import timezone

from tests.conftest import client_for, queued_clip

pytestmark = pytest.mark.django_db


def test_reviewer_responses_and_page_carry_no_identifier(annotator, subject):
    clip = queued_clip(subject)
    client = client_for(annotator)
    seen = [client.get("/annotate/").content, client.post("/api/v1/shifts").content]
    next_response = client.post("/api/v1/assignments/next")
    seen.append(next_response.content)
    assignment_id = next_response.json()["id"]
    audio = client.get(f"/api/v1/assignments/{assignment_id}/audio")
    seen.append(str(audio.headers).encode())
    seen.append(client.post(f"/api/v1/assignments/{assignment_id}/submit", {"text": "ok"}, format="json").content)
    recorded = timezone.localtime(clip.recorded_at)
    forbidden = [
        subject.external_id, str(subject.id), clip.device_serial, subject.first_name, str(clip.id), clip.id.hex,
        recorded.isoformat(), recorded.strftime("%Y-%m-%dT%H:%M"), clip.recorded_at.strftime("%H:%M:%S"),
    ]
    for body in seen:
        text = body.decode(errors="ignore")
        for value in forbidden:
            assert value not in text, f"{value!r} reached a reviewer"
    assert assignment_id != str(clip.id)
