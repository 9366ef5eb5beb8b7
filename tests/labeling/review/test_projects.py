"""Projects: ingest names one, its language and quota are kept, annotators get only their projects' clips."""

import pytest

from labeling.models import Clip, ClipStatus, Project
from labeling.review.services import project_member_add
from tests.factories import claim, client_for, make_user, metadata, queued_clip, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def music(db) -> Project:
    return Project.objects.create(slug="music", name="Music requests", locale="en", intents=["play", "pause"],
                                  entity_types=["song", "artist"], flags=["no_speech"])


def test_a_clip_joins_the_project_its_metadata_names(device_client, subject, speech_wav, music):
    response = upload(device_client, speech_wav, metadata(project="music"))
    assert response.status_code == 202
    assert Clip.objects.get(pk=response.json()["id"]).project == music
    unnamed = upload(device_client, speech_wav, metadata(recorded_at="2026-11-01T10:00:00Z"))
    assert Clip.objects.get(pk=unnamed.json()["id"]).project.slug == "default"


@pytest.mark.parametrize("overrides,status,code", [
    ({"project": "nope"}, 400, "unknown_project"),
    ({"project": "music", "locale": "de-DE"}, 400, "wrong_language"),
])
def test_a_clip_for_no_such_project_or_another_language_is_refused(device_client, subject, speech_wav, music,
                                                                    store, overrides, status, code):
    response = upload(device_client, speech_wav, metadata(**overrides))
    assert response.status_code == status and response.json()["error"]["code"] == code
    assert response.json()["error"]["fields"]["metadata"]
    assert Clip.objects.count() == 0 and store.files() == []


def test_a_full_project_refuses_more_clips_and_stores_nothing(device_client, subject, speech_wav, music, store):
    music.clip_quota = 1
    music.save()
    assert upload(device_client, speech_wav, metadata(project="music")).status_code == 202
    files = store.files()
    response = upload(device_client, speech_wav, metadata(project="music", recorded_at="2026-11-01T10:00:00Z"))
    assert response.status_code == 409 and response.json()["error"]["code"] == "project_full"
    assert "send it to another project" in response.json()["error"]["message"]
    assert Clip.objects.count() == 1 and store.files() == files
    # A discarded clip does not use the quota up.
    Clip.objects.update(status=ClipStatus.DISCARDED)
    assert upload(device_client, speech_wav, metadata(project="music", recorded_at="2026-11-01T10:00:00Z")
                  ).status_code == 202


def test_annotators_get_only_clips_of_their_projects(subject, music):
    music_clip = queued_clip(subject, project=music)
    outsider = client_for(make_user("ann-default", "annotator"))  # member of the default project only
    outsider.post("/api/v1/shifts")
    assert outsider.post("/api/v1/assignments/next").status_code == 204
    member = make_user("ann-music", "annotator")
    project_member_add(user=member, role="annotator", project=music)
    assignment = claim(client_for(member))
    assert Clip.objects.get(pk=music_clip.pk).status == ClipStatus.ASSIGNED
    assert assignment["project"] == {"name": "Music requests", "intents": ["play", "pause"],
                                     "entity_types": ["song", "artist"], "flags": ["no_speech"]}


def test_a_supervisor_membership_does_not_make_an_annotator(subject, music):
    queued_clip(subject, project=music)
    person = make_user("ann-sup", "annotator")
    project_member_add(user=person, role="supervisor", project=music)
    client = client_for(person)
    client.post("/api/v1/shifts")
    assert client.post("/api/v1/assignments/next").status_code == 204


def test_a_project_in_a_language_no_recognizer_reads_is_refused_at_creation(settings):
    from django.contrib.admin.sites import site
    from django.core.exceptions import ValidationError

    french = Project(slug="maison", name="Maison", locale="fr-FR")
    with pytest.raises(ValidationError) as refused:
        french.full_clean()
    assert "No speech recognizer is configured for 'fr-FR'" in refused.value.message_dict["locale"][0]
    # The admin's form is where projects are made; it says the same and saves nothing.
    form_class = site._registry[Project].get_form(request=None)
    form = form_class(data={"name": "Maison", "slug": "maison", "locale": "fr-FR", "sample_rate": 16000,
                            "intents": "[]", "entity_types": "[]", "flags": "[]", "gold_share": 0.05,
                            "agreement_share": 0.1, "agreement_max_difference": 0.2})
    assert not form.is_valid() and "locale" in form.errors
    Project(slug="garden", name="Garden", locale="en-GB").full_clean()
    settings.ASR_LANGUAGES = ["en", "fr"]  # a deployment that configured a French recognizer
    french.full_clean()


def test_clips_for_a_project_made_around_the_check_are_refused(device_client, subject, speech_wav, store):
    Project.objects.create(slug="maison", name="Maison", locale="fr")  # bypasses the admin's check
    response = upload(device_client, speech_wav, metadata(project="maison", locale="fr-FR"))
    assert response.status_code == 409 and response.json()["error"]["code"] == "unsupported_language"
    assert Clip.objects.count() == 0 and store.files() == []
