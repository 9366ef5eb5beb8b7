"""Pages: each role lands on its page; the annotator page exposes no audio link."""

import pytest
from django.test import Client

from consent.selectors import consent_is_active
from tests.factories import client_for, queued_clip

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    return client_for(user)


def test_login_page_and_redirects(annotator, supervisor, subject):
    assert Client().get("/").status_code == 302
    assert Client().get("/login/").status_code == 200
    assert login(annotator).get("/").url == "/annotate/"
    assert login(supervisor).get("/").url == "/supervise/"
    assert login(subject.user).get("/").url == "/me/"


def test_annotator_page_has_no_audio_element_or_url(annotator, subject):
    queued_clip(subject)
    page = login(annotator).get("/annotate/").content.decode()
    assert 'type="module"' in page and "annotate/main.js" in page
    assert "<audio" not in page and "/audio" not in page and "download" not in page.lower()
    assert "Ctrl</kbd>+<kbd>Enter" in page


def test_pages_refuse_other_roles(annotator, subject, supervisor):
    assert login(subject.user).get("/annotate/").status_code == 403
    assert login(annotator).get("/supervise/").status_code == 403
    assert login(supervisor).get("/me/").status_code == 403


def test_supervisor_sees_counts(supervisor, subject):
    queued_clip(subject)
    page = login(supervisor).get("/supervise/").content.decode()
    assert "<td>Queued</td><td>1</td>" in page


def test_owner_changes_consent_on_the_page(subject):
    client = login(subject.user)
    response = client.post("/me/", {"human_review": "no"}, follow=True)
    assert "Now: <strong>no</strong>" in response.content.decode()
    assert not consent_is_active(account_id=subject.id)
    client.post("/me/", {"human_review": "maybe"})
    assert not consent_is_active(account_id=subject.id)


def test_annotate_script_is_served(annotator):
    response = login(annotator).get("/static/frontend/annotate/main.js")
    assert response.status_code == 200


def test_admins_set_team_rules_in_the_admin_and_see_no_clips(db):
    from django.contrib.auth.models import User

    admin = User.objects.create_superuser("root-admin", password="correct horse battery")
    client = client_for(admin)
    page = client.get("/admin/labeling/team/add/").content.decode()
    assert 'name="exposure_budget_minutes"' in page and 'name="flag_break_minutes"' in page
    assert client.get("/admin/labeling/clip/").status_code == 404


def test_owner_sees_their_recordings_deletes_one_and_gets_a_receipt(subject, annotator):
    clip = queued_clip(subject)
    client = login(subject.user)
    page = client.get("/me/recordings/").content.decode()
    assert "waiting for review" in page and str(clip.id) in page
    response = client.post("/me/recordings/", {"clip": str(clip.id)}, follow=True)
    text = response.content.decode()
    assert "Deletion receipt" in text and "its audio, transcripts and details are gone" in text
    assert "deleted" in client.get("/me/recordings/").content.decode()
    assert login(annotator).get("/me/recordings/").status_code == 403


def test_deleting_everything_needs_the_box_ticked(subject):
    clip = queued_clip(subject)
    client = login(subject.user)
    response = client.post("/me/recordings/", {}, follow=True)
    assert "Tick the box" in response.content.decode()
    from labeling.models import Clip

    assert Clip.objects.get(pk=clip.pk).status == "queued"
    client.post("/me/recordings/", {"everything": "yes"})
    assert Clip.objects.get(pk=clip.pk).status == "deleted"


def test_another_owners_receipt_does_not_exist(subject):
    from tests.factories import make_subject

    queued_clip(subject)
    client = login(subject.user)
    receipt_url = client.post("/me/recordings/", {"everything": "yes"}).url
    stranger = login(make_subject("acct-x", first_name="Ezra").user)
    assert stranger.get(receipt_url).status_code == 404


def test_owner_sees_who_heard_under_a_pseudonym(subject, annotator):
    from tests.factories import claim, fetch_audio

    queued_clip(subject)
    reviewer = login(annotator)
    fetch_audio(reviewer, claim(reviewer))
    page = login(subject.user).get("/me/who-heard/").content.decode()
    assert "audio_stream" in page and "transcription" in page and "Reviewer " in page
    assert "ann-1" not in page


def test_owner_reads_why_in_plain_words(subject):
    from labeling.models import Clip

    clip = queued_clip(subject)
    Clip.objects.filter(pk=clip.pk).update(status="discarded", status_reason="accidental")
    page = login(subject.user).get("/me/recordings/").content.decode()
    assert "not retained (the device probably woke by mistake)" in page
