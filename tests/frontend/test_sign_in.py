"""Sign-in: staff confirm every login with an authenticator code, enrol at first login, are locked
out after repeated failures and signed out when idle; data subjects may turn the second factor on."""

import re
import time
from base64 import b32decode
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from config.security import LAST_SEEN_SESSION_KEY, login_locked_until
from consent.models import LedgerEntry
from tests.factories import client_for, make_user, queued_clip

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


def code_for(secret_b32: str, *, offset: int = 0) -> str:
    totp = TOTP(b32decode(secret_b32), step=30, t0=0, digits=6)
    totp.time = time.time() + offset
    return f"{totp.token():06d}"


def password_login(username: str, password: str = PASSWORD) -> tuple[Client, object]:
    client = Client()
    return client, client.post("/login/", {"username": username, "password": password})


def test_staff_enrol_an_authenticator_at_first_login_and_need_a_code_every_time(subject):
    make_user("ann-new", "annotator")
    client, response = password_login("ann-new")
    assert response.status_code == 302
    # Signed in by password only: pages send them to the second factor, the API refuses.
    page = client.get("/annotate/")
    assert page.status_code == 302 and page.url.startswith("/mfa/")
    api = client.post("/api/v1/shifts")
    assert api.status_code == 403 and api.json()["error"]["code"] == "mfa_required"
    enrol = client.get("/mfa/?next=/annotate/").content.decode()
    assert "<svg" in enrol and "Set up your authenticator" in enrol
    secret = re.search(r'<code id="totp-secret">([A-Z2-7=]+)</code>', enrol).group(1)
    wrong = client.post("/mfa/", {"code": "000000" if code_for(secret) != "000000" else "111111", "next": "/annotate/"},
                        follow=True)
    assert "That code is not right" in wrong.content.decode()
    # Right after a wrong code the authenticator is throttled, however right the next one is.
    throttled = client.post("/mfa/", {"code": code_for(secret), "next": "/annotate/"}, follow=True)
    assert "Too many wrong codes: wait" in throttled.content.decode()
    TOTPDevice.objects.update(throttling_failure_timestamp=timezone.now() - timedelta(seconds=5))
    done = client.post("/mfa/", {"code": code_for(secret), "next": "/annotate/"})
    assert done.status_code == 302 and done.url == "/annotate/"
    assert client.get("/annotate/").status_code == 200
    assert client.post("/api/v1/shifts").status_code == 201
    # Next sign-in: the same authenticator is asked for, nothing new to enrol.
    again, _ = password_login("ann-new")
    ask = again.get("/mfa/").content.decode()
    assert "Confirm it is you" in ask and "<svg" not in ask
    assert again.post("/mfa/", {"code": code_for(secret, offset=30)}).status_code == 302
    assert again.get("/annotate/").status_code == 200
    user_id = TOTPDevice.objects.get(name="authenticator").user_id
    assert list(LedgerEntry.objects.filter(actor_id=user_id, action=LedgerEntry.Action.LOGIN_FAILED)
                .values_list("detail", flat=True)) == [{"factor": "totp"}]  # the throttled try was never checked


def test_data_subjects_need_no_code_until_they_turn_it_on(subject):
    subject.user.set_password(PASSWORD)
    subject.user.save()
    client, _ = password_login(subject.user.username)
    assert client.get("/me/").status_code == 200
    enrol = client.get("/mfa/").content.decode()
    secret = re.search(r'<code id="totp-secret">([A-Z2-7=]+)</code>', enrol).group(1)
    assert client.post("/mfa/", {"code": code_for(secret), "next": "/me/"}).status_code == 302
    later, _ = password_login(subject.user.username)
    assert later.get("/me/").url.startswith("/mfa/")


def test_repeated_failures_lock_the_account_with_a_plain_message(annotator):
    for _ in range(5):
        _, response = password_login("ann-1", "wrong password")
        assert response.status_code == 200
    client, response = password_login("ann-1")  # the right password, too late
    assert response.status_code == 200 and "try again in 15 min" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert login_locked_until(user=annotator, now=timezone.now()) is not None
    assert login_locked_until(user=annotator, now=timezone.now() + timedelta(minutes=16)) is None


def _form_errors(response) -> list[str]:
    return [str(e) for e in response.context["form"].non_field_errors()]


def test_a_name_no_account_has_is_locked_with_the_same_words(annotator, settings):
    """An attacker trying names learns nothing: after five failures an unknown name is answered
    exactly as a real account is, and before that both are a plain wrong password."""
    answers = {}
    for name in ("ann-1", "no-such-person"):
        wrong = [password_login(name, "wrong password")[1] for _ in range(5)]
        assert len({tuple(_form_errors(r)) for r in wrong}) == 1
        answers[name] = (_form_errors(wrong[0]), _form_errors(password_login(name, "wrong password")[1]))
    assert answers["ann-1"] == answers["no-such-person"]
    first, locked = answers["no-such-person"]
    assert "try again in 15 min" in locked[0] and "try again" not in first[0]
    # The cache holds a keyed hash of the typed name, never the name.
    if settings.REDIS_URL:
        import redis

        keys = b" ".join(redis.Redis.from_url(settings.REDIS_URL).keys("*"))
        assert b"no-such-person" not in keys


def test_fewer_failures_or_a_success_in_between_do_not_lock(annotator):
    for _ in range(4):
        password_login("ann-1", "wrong password")
    client, response = password_login("ann-1")
    assert response.status_code == 302
    for _ in range(4):
        password_login("ann-1", "wrong password")
    assert login_locked_until(user=annotator, now=timezone.now()) is None


def test_staff_idle_for_15_minutes_are_signed_out(annotator, subject):
    queued_clip(subject)
    client = client_for(annotator)
    assert client.post("/api/v1/shifts").status_code == 201
    session = client.session
    session[LAST_SEEN_SESSION_KEY] = time.time() - 16 * 60
    session.save()
    response = client.post("/api/v1/assignments/next")
    assert response.status_code == 401 and response.json()["error"]["code"] == "session_expired"
    assert client.get("/annotate/").status_code == 302


def test_data_subjects_are_not_signed_out_for_idling(subject):
    client = client_for(subject.user)
    assert client.get("/me/").status_code == 200
    session = client.session
    session[LAST_SEEN_SESSION_KEY] = time.time() - 16 * 60
    session.save()
    assert client.get("/me/").status_code == 200


def test_the_case_of_a_name_tells_nothing_either(annotator):
    """Failures under one spelling of a name do not lock another spelling, for a real name as for an
    unknown one: 'ANN-1' and 'ann-1' answer alike whether ann-1 exists or not."""
    answers = {}
    for name in ("ann-1", "ann-9"):
        for _ in range(5):
            password_login(name.upper(), "wrong password")
        answers[name] = _form_errors(password_login(name, "wrong password")[1])
    assert answers["ann-1"] == answers["ann-9"]
    assert "try again" not in answers["ann-9"][0]


def test_who_a_request_comes_from_is_read_in_one_statement_and_changes_count_at_once(annotator, other_annotator):
    """The user, their roles and their confirmed authenticators come in one statement per request;
    a role taken away, an authenticator removed or another person's authenticator named in the
    session count from the next request on."""
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_otp import DEVICE_ID_SESSION_KEY

    client = client_for(annotator)
    assert client.post("/api/v1/shifts").status_code == 201
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/shifts/current").status_code == 200
    touching = [q["sql"] for q in queries.captured_queries
                if any(table in q["sql"] for table in ("auth_group", "otp_totp"))]
    assert len(touching) == 1 and "auth_user u" in touching[0], touching

    theirs = TOTPDevice.objects.create(user=other_annotator, name="theirs", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = theirs.persistent_id  # another person's authenticator
    session.save()
    response = client.get("/api/v1/shifts/current")
    assert response.status_code == 403 and response.json()["error"]["code"] == "mfa_required"
    assert DEVICE_ID_SESSION_KEY not in client.session  # forgotten, as django_otp does

    client = client_for(annotator)
    TOTPDevice.objects.filter(user=annotator).update(confirmed=False)
    assert client.get("/api/v1/shifts/current").json()["error"]["code"] == "mfa_required"
    TOTPDevice.objects.filter(user=annotator).update(confirmed=True)
    assert client.get("/api/v1/shifts/current").status_code == 403  # the session forgot it: sign in again
    client = client_for(annotator)
    assert client.get("/api/v1/shifts/current").status_code == 200
    annotator.groups.remove(Group.objects.get(name="annotator"))
    assert client.get("/api/v1/shifts/current").status_code == 403
    annotator.is_active = False
    annotator.save()
    assert client.get("/api/v1/shifts/current").status_code in (401, 403)
