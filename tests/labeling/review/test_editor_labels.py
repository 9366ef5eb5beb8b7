"""The editor's labels: intent, entity spans and flags from the project's schema; drafts saved as
the annotator types and handed back after a reload."""

import pytest

from labeling.models import Assignment, AssignmentState, Clip, ClipStatus, Project, Transcript
from tests.factories import claim, client_for, queued_clip

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(db) -> Project:
    project = Project.objects.get(slug="default")
    project.intents, project.entity_types = ["play_music", "set_timer"], ["song", "artist"]
    project.save()
    return project


def submit(client, assignment, **body):
    return client.post(f"/api/v1/assignments/{assignment['id']}/submit", body, format="json")


def test_intent_entities_and_flags_are_kept_with_the_words(annotator, subject, schema):
    clip = queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    assert assignment["project"]["intents"] == ["play_music", "set_timer"]
    text = "  play yellow by coldplay"
    response = submit(client, assignment, text=text, intent="play_music", flags=["not_directed"],
                      entities=[{"start": 17, "end": 25, "type": "artist"}, {"start": 7, "end": 13, "type": "song"}])
    assert response.status_code == 200, response.content
    transcript = Transcript.objects.get(clip=clip)
    assert transcript.text == "play yellow by coldplay" and transcript.intent == "play_music"
    assert transcript.flags == ["not_directed"]
    # Spans follow the text as stored (leading spaces trimmed), in order.
    assert [(transcript.text[e["start"]:e["end"]], e["type"]) for e in transcript.entities] == [
        ("yellow", "song"), ("coldplay", "artist")]


def test_a_clip_without_speech_is_submitted_with_no_words(annotator, subject, schema):
    clip = queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    assert submit(client, assignment, text="", flags=["no_speech"]).status_code == 200
    assert Transcript.objects.get(clip=clip).flags == ["no_speech"]
    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.LABELED


@pytest.mark.parametrize("body,code", [
    ({"text": "play it", "intent": "order_pizza"}, "unknown_intent"),
    ({"text": "play it", "entities": [{"start": 5, "end": 40, "type": "song"}]}, "invalid_entity"),
    ({"text": "play it", "entities": [{"start": 4, "end": 5, "type": "song"}]}, "invalid_entity"),
    ({"text": "play it", "entities": [{"start": 0, "end": 4, "type": "city"}]}, "unknown_entity_type"),
    ({"text": "play it", "entities": [{"start": 0, "end": 4, "type": "song"},
                                      {"start": 2, "end": 7, "type": "artist"}]}, "overlapping_entities"),
    ({"text": "play it", "flags": ["boring"]}, "unknown_flag"),
    ({"text": "play it", "flags": ["no_speech"]}, "speech_flagged_no_speech"),
    ({"text": "", "flags": ["unintelligible"]}, "empty_transcript"),
    ({"text": "play it", "entities": [{"start": "a", "end": 4, "type": "song"}]}, "invalid_input"),
])
def test_labels_outside_the_schema_are_refused_and_the_clip_stays(annotator, subject, schema, body, code):
    clip = queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    response = submit(client, assignment, **body)
    assert response.status_code == 400 and response.json()["error"]["code"] == code, response.content
    assert response.json()["error"]["message"]
    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.ASSIGNED and not Transcript.objects.exists()


def test_a_flag_the_project_does_not_offer_is_refused(annotator, subject, schema):
    schema.flags = ["no_speech"]
    schema.save()
    queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    assert assignment["project"]["flags"] == ["no_speech"]
    response = submit(client, assignment, text="hello", flags=["not_directed"])
    assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_flag"


def test_a_reload_gets_back_the_saved_draft_and_submitting_drops_it(annotator, subject, schema):
    queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    assert assignment["saved"] is None
    work = {"text": "play yel", "intent": "play_music", "entities": [{"start": 5, "end": 8, "type": "song"}],
            "flags": []}
    saved = client.put(f"/api/v1/assignments/{assignment['id']}/draft", work, format="json")
    assert saved.status_code == 200 and saved.json()["saved_at"]
    again = client.post("/api/v1/assignments/next").json()  # what the page asks after a reload
    assert again["id"] == assignment["id"] and again["saved"] == work
    assert submit(client, assignment, text="play yellow", intent="play_music").status_code == 200
    assert Assignment.objects.get(pk=assignment["id"]).draft is None


def test_a_draft_is_saved_only_by_its_assignee_while_the_clip_is_theirs(annotator, other_annotator, subject,
                                                                         schema):
    queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    url = f"/api/v1/assignments/{assignment['id']}/draft"
    assert client_for(other_annotator).put(url, {"text": "mine now"}, format="json").status_code == 404
    bad = client.put(url, {"text": "x", "intent": "nope"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "unknown_intent"
    client.post(f"/api/v1/assignments/{assignment['id']}/skip")
    late = client.put(url, {"text": "too late"}, format="json")
    assert late.status_code == 409 and late.json()["error"]["code"] == "assignment_closed"
    assignment_row = Assignment.objects.get(pk=assignment["id"])
    assert assignment_row.state == AssignmentState.SKIPPED and assignment_row.draft is None
