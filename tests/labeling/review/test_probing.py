"""Another annotator's assignment does not exist for anyone else, whatever they send: ownership is
checked before the request's input, so a bad body cannot tell a real id from a made-up one, nor
reveal the project's labels."""

import uuid

import pytest

from labeling.models import Project
from tests.factories import claim, client_for, queued_clip

pytestmark = pytest.mark.django_db

BAD_BODIES = {
    "submit": ("post", {"text": "x", "flags": ["no_such_flag"]}),
    "draft": ("put", {"text": "x", "flags": ["no_such_flag"]}),
    "second-opinion": ("post", {"start_seconds": "soon", "end_seconds": 1, "text": ""}),
    "escalate": ("post", {"category": "no_such_category"}),
}


@pytest.mark.parametrize("action", sorted(BAD_BODIES))
def test_a_bad_body_on_someone_elses_assignment_is_a_404_like_an_id_that_does_not_exist(
        annotator, other_annotator, subject, action):
    Project.objects.filter(slug="default").update(flags=["no_speech", "not_directed"])
    queued_clip(subject)
    theirs = claim(client_for(annotator))
    method, body = BAD_BODIES[action]
    prober = client_for(other_annotator)
    prober.post("/api/v1/shifts")
    answers = []
    for assignment_id in (theirs["id"], str(uuid.uuid4())):
        response = getattr(prober, method)(f"/api/v1/assignments/{assignment_id}/{action}", body, format="json")
        answers.append((response.status_code, response.json()["error"]["code"]))
        assert "not_directed" not in response.content.decode()  # nothing of the project's labels
    assert answers == [(404, "not_found"), (404, "not_found")]
    # The assignee with the same body is told what is wrong with it.
    own = getattr(client_for(annotator), method)(f"/api/v1/assignments/{theirs['id']}/{action}", body, format="json")
    assert own.status_code == 400
