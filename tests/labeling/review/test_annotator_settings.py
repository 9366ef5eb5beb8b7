"""An annotator's sound settings (volume, muted start) are kept on the server for that annotator
alone and validated; a clip in a category the annotator's team marks is said to start muted."""

import pytest
from django.core.exceptions import ValidationError

from labeling.models import Clip, Team
from tests.factories import claim, client_for, queued_clip, team_of

pytestmark = pytest.mark.django_db

SETTINGS = "/api/v1/annotator/settings"


def test_the_defaults_are_full_volume_and_muted_start_for_marked_clips(annotator):
    body = client_for(annotator).get(SETTINGS).json()
    assert body["volume"] == 1.0 and body["muted_start"] == "marked" and body["opted_out_categories"] == []


def test_settings_follow_the_annotator_and_no_one_else(annotator, other_annotator):
    response = client_for(annotator).put(SETTINGS, {"volume": 0.35, "muted_start": "all"}, format="json")
    assert response.status_code == 200
    assert response.json()["volume"] == 0.35 and response.json()["muted_start"] == "all"
    # Another browser of the same annotator: a new session.
    again = client_for(annotator).get(SETTINGS).json()
    assert again["volume"] == 0.35 and again["muted_start"] == "all"
    other = client_for(other_annotator).get(SETTINGS).json()
    assert other["volume"] == 1.0 and other["muted_start"] == "marked"


def test_a_put_changes_only_what_it_names(annotator):
    client = client_for(annotator)
    client.put(SETTINGS, {"opted_out_categories": ["danger"], "volume": 0.5}, format="json")
    client.put(SETTINGS, {"muted_start": "off"}, format="json")
    body = client.put(SETTINGS, {"volume": 0.25}, format="json").json()
    assert body["opted_out_categories"] == ["danger"] and body["volume"] == 0.25 and body["muted_start"] == "off"


@pytest.mark.parametrize("body,field", [
    ({"volume": -0.01}, "volume"),
    ({"volume": 1.01}, "volume"),
    ({"volume": "loud"}, "volume"),
    ({"volume": "NaN"}, "volume"),
    ({"volume": "Infinity"}, "volume"),
    ({"volume": None}, "volume"),
    ({"muted_start": "sometimes"}, "muted_start"),
    ({"muted_start": ""}, "muted_start"),
    ({"opted_out_categories": ["danger"], "volume": 2}, "volume"),
])
def test_bad_settings_are_refused_and_change_nothing(annotator, body, field):
    client = client_for(annotator)
    client.put(SETTINGS, {"volume": 0.6, "muted_start": "all"}, format="json")
    response = client.put(SETTINGS, body, format="json")
    assert response.status_code == 400 and field in response.json()["error"]["fields"]
    kept = client.get(SETTINGS).json()
    assert kept["volume"] == 0.6 and kept["muted_start"] == "all" and kept["opted_out_categories"] == []


def test_unknown_settings_are_refused(annotator):
    response = client_for(annotator).put(SETTINGS, {"volume": 0.5, "loudness": 3}, format="json")
    assert response.status_code == 400
    assert client_for(annotator).get(SETTINGS).json()["volume"] == 1.0


def flagged_clip(subject, category):
    clip = queued_clip(subject)
    Clip.objects.filter(pk=clip.pk).update(flag_category=category)
    return clip


def test_a_clip_in_a_category_the_team_marks_starts_muted(annotator, subject):
    team = team_of(annotator)
    Team.objects.filter(pk=team.pk).update(muted_start_categories=["self_harm", "distressing"])
    flagged_clip(subject, "distressing")
    client = client_for(annotator)
    assert claim(client)["muted_category"] is True


@pytest.mark.parametrize("category", ["", "other"])
def test_a_clip_outside_the_marked_categories_does_not(annotator, subject, category):
    team = team_of(annotator)
    Team.objects.filter(pk=team.pk).update(muted_start_categories=["distressing"])
    flagged_clip(subject, category)
    assert claim(client_for(annotator))["muted_category"] is False


def test_outside_any_team_the_installation_marks_the_categories(settings, annotator, other_annotator, subject):
    settings.WORK_MUTED_START_CATEGORIES = ["danger"]
    flagged_clip(subject, "danger")
    flagged_clip(subject, "danger")
    assert claim(client_for(annotator))["muted_category"] is True
    # A team that marks nothing marks nothing, whatever the installation's default.
    team_of(other_annotator)
    assert claim(client_for(other_annotator))["muted_category"] is False


def test_a_team_marks_only_known_categories(annotator):
    team = team_of(annotator)
    team.muted_start_categories = ["distressing", "gore"]
    with pytest.raises(ValidationError):
        team.full_clean()
    team.muted_start_categories = ["distressing"]
    team.full_clean()
