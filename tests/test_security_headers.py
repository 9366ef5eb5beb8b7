"""Every page and every API answer carries the browser protections; forms and session-signed API
calls need the CSRF token."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from consent.selectors import consent_is_active
from tests.factories import client_for

pytestmark = pytest.mark.django_db

PAGES_BY_ROLE = {
    None: ["/login/", "/signup/", "/healthz", "/readyz", "/api/schema/", "/admin/login/"],
    "annotator": ["/", "/annotate/", "/api/v1/projects", "/api/v1/annotator/settings"],
    "supervisor": ["/supervise/", "/supervise/escalations/", "/supervise/quality/", "/supervise/exports/",
                   "/api/v1/escalations"],
    "subject": ["/me/", "/me/recordings/", "/me/who-heard/", "/api/v1/me/clips", "/api/v1/me/ledger"],
}


def assert_protected(response, path: str) -> None:
    policy = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, path
    assert response.headers.get("X-Frame-Options") == "DENY", path
    assert response.headers.get("X-Content-Type-Options") == "nosniff", path
    assert response.headers.get("Referrer-Policy") == "same-origin", path


@pytest.mark.parametrize("role", list(PAGES_BY_ROLE))
def test_every_page_and_answer_carries_csp_clickjacking_and_sniffing_protection(role, annotator, supervisor,
                                                                                subject):
    people = {"annotator": annotator, "supervisor": supervisor, "subject": subject.user}
    client = Client() if role is None else client_for(people[role], verified=role != "subject")
    for path in PAGES_BY_ROLE[role]:
        response = client.get(path)
        assert response.status_code in (200, 204, 302), (path, response.status_code)
        assert_protected(response, path)


def test_errors_and_redirects_carry_them_too(annotator):
    for path in ("/annotate/", "/no-such-page/", "/api/v1/escalations"):
        assert_protected(Client().get(path), path)
    assert_protected(client_for(annotator).get("/api/v1/escalations"), "403 for the wrong role")


def test_pages_load_no_inline_script_or_style(annotator, supervisor, subject):
    """The policy forbids inline code, so a page that relied on it would break: none does."""
    people = [(annotator, ["/annotate/"]), (supervisor, ["/supervise/", "/supervise/escalations/"]),
              (subject.user, ["/me/", "/me/recordings/"])]
    for person, paths in people:
        client = client_for(person, verified=person != subject.user)
        for path in paths:
            html = client.get(path).content.decode()
            assert " style=" not in html and "<style" not in html, path
            for chunk in html.split("<script")[1:]:
                assert 'src="' in chunk.split(">", 1)[0], path


def test_page_forms_refuse_a_post_without_the_csrf_token(subject):
    client = Client(enforce_csrf_checks=True)
    client.force_login(subject.user)
    assert client.post("/me/", {"human_review": "no"}).status_code == 403
    assert consent_is_active(account_id=subject.id)
    client.get("/me/")
    token = client.cookies["csrftoken"].value
    assert client.post("/me/", {"human_review": "no", "csrfmiddlewaretoken": token}).status_code == 302
    assert not consent_is_active(account_id=subject.id)


def test_session_signed_api_calls_refuse_without_the_csrf_token(subject):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(subject.user)
    response = client.put("/api/v1/me/consent", {"human_review": False}, format="json")
    assert response.status_code == 403 and "CSRF" in response.json()["error"]["message"]
    assert client.get("/api/v1/me/consent").json()["human_review"] is True
