"""Hostile input against the whole API: requests generated from the OpenAPI schema (schemathesis),
valid and invalid, sent as each role with real credentials. No answer may be a server error."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.contrib.auth.models import Permission
from django.test import Client
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings

from config.wsgi import application
from labeling.intake.services import ingest_key_create
from tests.factories import claim, client_for, make_subject, make_user, queued_clip

# Requests run through the WSGI application in this thread, which commits as a server would.
pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# Derandomized: every run sends the same requests, so a failure in CI reproduces anywhere.
# FUZZ_EXAMPLES raises the count for a deeper run by hand.
EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "12"))


def session_of(user, *, verified: bool) -> dict:
    """Cookies and the CSRF header a signed-in browser sends."""
    client = client_for(user, verified=verified)
    client.get("/login/")  # sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    cookies = {"sessionid": client.cookies["sessionid"].value, "csrftoken": csrf}
    return {"cookies": cookies, "headers": {"X-CSRFToken": csrf, "Referer": "http://localhost/"}}


def fuzz(schema, credentials: dict) -> list[str]:
    """Every operation, EXAMPLES_PER_OPERATION generated requests each; the server errors found."""
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                             suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def run(case):
            response = case.call(headers={**(case.headers or {}), **credentials.get("headers", {})},
                                 cookies=credentials.get("cookies"))
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                f"{response.text[:300]}\n  {case.as_curl_command()}")

        run()
    return failures


@pytest.fixture
def schema():
    assert Client().get("/api/schema/").status_code == 200
    return schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.mark.parametrize("role", ["anonymous", "device", "annotator", "supervisor", "data subject"])
def test_generated_requests_never_get_a_server_error(schema, role):
    owner = make_subject()
    for _ in range(3):
        queued_clip(owner)
    people = {"annotator": make_user("ann-fuzz", "annotator"), "supervisor": make_user("sup-fuzz", "supervisor")}
    if role == "device":
        credentials = {"headers": {"Authorization": f"Api-Key {ingest_key_create(name='fuzz')[1]}"}}
    elif role == "annotator":
        claim(client_for(people["annotator"]))  # an open shift and a clip in hand, so ids lead somewhere
        credentials = session_of(people["annotator"], verified=True)
    elif role == "supervisor":  # allowed to manage ingest keys too, so those endpoints are fuzzed past the door
        people["supervisor"].user_permissions.add(Permission.objects.get(codename="manage_ingest_keys"))
        credentials = session_of(people["supervisor"], verified=True)
    elif role == "data subject":
        credentials = session_of(owner.user, verified=False)
    else:
        credentials = {}
    failures = fuzz(schema, credentials)
    assert not failures, "\n".join(failures)
