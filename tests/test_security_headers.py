"""Every page and every API answer carries the browser protections; forms and session-signed API
calls need the CSRF token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


# A fresh process loads the settings from the environment it is given, then answers a login page
# over HTTPS and over plain HTTP; it prints what a browser would be told.
ANSWER_AS_CONFIGURED = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
found = {"session_cookie_secure": settings.SESSION_COOKIE_SECURE, "hsts_seconds": settings.SECURE_HSTS_SECONDS}
for scheme, extra in (("https", {"secure": True}), ("http", {}),
                      ("forwarded", {"HTTP_X_FORWARDED_PROTO": "https"})):
    answer = Client().get("/login/", **extra)
    found[scheme] = {"status": answer.status_code, "hsts": answer.headers.get("Strict-Transport-Security"),
                     "csrf_cookie_secure": bool(answer.cookies["csrftoken"]["secure"])}
print(json.dumps(found))
"""
ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_LIKE = {"DATABASE_URL": "postgres://voice:secret@db.internal:5432/voice", "DEBUG": "false",
                   "REDIS_URL": "", "ALLOWED_HOSTS": "testserver"}


def answer_as_configured(tmp_path, **env: str) -> subprocess.CompletedProcess:
    """Settings as a deployment with exactly this environment gets them (nothing else of ours set)."""
    clean = {name: value for name, value in os.environ.items()
             if name not in {"DATABASE_URL", "REDIS_URL", "SECURE_COOKIES", "INSECURE_PLAIN_HTTP", "HSTS_SECONDS",
                             "SECURE_PROXY_SSL_HEADER", "DEBUG"}}
    return subprocess.run([sys.executable, "-c", ANSWER_AS_CONFIGURED], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=clean | {"DJANGO_SETTINGS_MODULE": "config.settings",
                                                    "VAR_DIR": str(tmp_path), **env})


def told(tmp_path, **env: str) -> dict:
    run = answer_as_configured(tmp_path, **env)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_a_production_like_deployment_gets_secure_cookies_and_hsts(tmp_path):
    found = told(tmp_path, **PRODUCTION_LIKE)
    assert found["session_cookie_secure"] is True
    assert found["https"]["status"] == 200 and found["https"]["csrf_cookie_secure"] is True
    assert found["https"]["hsts"] == "max-age=31536000"
    # Browsers ignore HSTS over plain HTTP, and Django sends it only over HTTPS; the cookie stays Secure.
    assert found["http"]["hsts"] is None and found["http"]["csrf_cookie_secure"] is True


def test_a_forwarded_proto_header_is_trusted_only_when_named(tmp_path):
    assert told(tmp_path, **PRODUCTION_LIKE)["forwarded"]["hsts"] is None
    named = told(tmp_path, **PRODUCTION_LIKE, SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    assert named["forwarded"]["hsts"] == "max-age=31536000"


def test_the_embedded_default_over_plain_http_sends_neither(tmp_path):
    found = told(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert found["session_cookie_secure"] is False and found["hsts_seconds"] == 0
    assert found["http"]["csrf_cookie_secure"] is False
    assert found["https"]["hsts"] is None and found["https"]["csrf_cookie_secure"] is False
    assert told(tmp_path)["session_cookie_secure"] is False  # DATABASE_URL unset: the same


def test_the_embedded_default_served_over_https_can_say_so(tmp_path):
    for declared in ({"INSECURE_PLAIN_HTTP": "false"}, {"SECURE_COOKIES": "true"}):
        found = told(tmp_path, **declared)
        assert found["https"]["csrf_cookie_secure"] is True and found["https"]["hsts"] == "max-age=31536000"


def test_plain_http_elsewhere_only_when_the_deployment_says_it_is_insecure(tmp_path):
    found = told(tmp_path, **PRODUCTION_LIKE, INSECURE_PLAIN_HTTP="true")
    assert found["http"]["csrf_cookie_secure"] is False and found["https"]["hsts"] is None
    # The old switch no longer turns it off unnamed: start-up stops and says what to set.
    refused = answer_as_configured(tmp_path, **PRODUCTION_LIKE, SECURE_COOKIES="false")
    assert refused.returncode != 0 and "INSECURE_PLAIN_HTTP=true" in refused.stderr
    contradiction = answer_as_configured(tmp_path, SECURE_COOKIES="true", INSECURE_PLAIN_HTTP="true")
    assert contradiction.returncode != 0 and "contradict" in contradiction.stderr
    bad_header = answer_as_configured(tmp_path, **PRODUCTION_LIKE, SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto: https")
    assert bad_header.returncode != 0 and "SECURE_PROXY_SSL_HEADER" in bad_header.stderr
