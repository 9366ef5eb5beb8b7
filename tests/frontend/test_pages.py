"""Pages: each role lands on its page; the annotator page exposes no audio link."""

import pytest
from django.test import Client

from consent.selectors import consent_is_active
from tests.conftest import client_for, queued_clip

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
    assert 'type="module"' in page and "annotate.js" in page
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
    response = login(annotator).get("/static/frontend/annotate.js")
    assert response.status_code == 200


def test_admins_set_team_rules_in_the_admin_and_see_no_clips(db):
    from django.contrib.auth.models import User

    admin = User.objects.create_superuser("root-admin", password="correct horse battery")
    client = client_for(admin)
    page = client.get("/admin/labeling/team/add/").content.decode()
    assert 'name="exposure_budget_minutes"' in page and 'name="flag_break_minutes"' in page
    assert client.get("/admin/labeling/clip/").status_code == 404
