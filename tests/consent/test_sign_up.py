"""Owners sign up with a one-time code their device platform issues, and own that account."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from consent.models import Account, LinkCode
from consent.selectors import consent_is_active

pytestmark = pytest.mark.django_db

PASSWORD = "violet-harbour-1987"


def issue(device_client, account="acct-new-1"):
    response = device_client.post("/api/v1/accounts/link-codes", {"account": account}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["code"]


def sign_up(code, username="river", password=PASSWORD, password2=None):
    client = Client()
    response = client.post("/signup/", {"code": code, "username": username, "password": password,
                                        "password2": password2 or password}, follow=True)
    return client, response


def test_a_code_from_the_device_platform_makes_a_login_for_that_account(device_client):
    code = issue(device_client)
    client, response = sign_up(code.lower().replace("-", " "))  # typed loosely
    assert response.redirect_chain[-1][0] == "/me/"
    assert "Nobody listens to your recordings unless you say yes" in response.content.decode()
    account = Account.objects.get(external_id="acct-new-1")
    assert account.user == User.objects.get(username="river")
    assert not consent_is_active(account_id=account.id)  # no consent until the owner chooses
    assert client.get("/api/v1/me/consent").json()["human_review"] is False


@pytest.mark.parametrize("case", ["used", "expired", "wrong", "weak", "mismatch", "taken"])
def test_bad_codes_and_passwords_are_refused_and_change_nothing(device_client, case):
    code = issue(device_client)
    User.objects.create_user("taken", password=PASSWORD)
    if case == "used":
        sign_up(code, username="first")
    if case == "expired":
        LinkCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    kwargs = {"wrong": {"code": "AAAAA-AAAAA"}, "weak": {"password": "short"},
              "mismatch": {"password2": "something-else-entirely"}, "taken": {"username": "TAKEN"}}.get(case, {})
    _, response = sign_up(kwargs.pop("code", code), **kwargs)
    text = response.content.decode()
    assert response.redirect_chain == [] and 'class="notice error"' in text
    expected = {"used": "not valid", "expired": "not valid", "wrong": "not valid", "weak": "too short",
                "mismatch": "The two passwords differ", "taken": "taken"}[case]
    assert expected in text
    account = Account.objects.get(external_id="acct-new-1")
    assert account.user is None or case == "used"


def test_only_device_keys_issue_codes(subject):
    from tests.factories import client_for

    assert Client().post("/api/v1/accounts/link-codes", {"account": "x"}).status_code in (401, 403)
    assert client_for(subject.user).post("/api/v1/accounts/link-codes", {"account": "x"}).status_code in (401, 403)
    assert not Account.objects.filter(external_id="x").exists()


def test_guessing_codes_from_one_address_is_stopped_and_others_still_sign_up(device_client):
    """An attacker trying codes: after ten wrong ones from their address even a right one waits,
    while an owner elsewhere signs up as usual."""
    code = issue(device_client)
    for _ in range(10):
        _, response = sign_up("AAAAA-AAAAA")
        assert "not valid" in response.content.decode()
    _, response = sign_up(code)
    assert response.redirect_chain == [] and "Too many failed tries from here" in response.content.decode()
    assert Account.objects.get(external_id="acct-new-1").user is None
    elsewhere = Client(REMOTE_ADDR="198.51.100.7")
    response = elsewhere.post("/signup/", {"code": code, "username": "river", "password": PASSWORD,
                                          "password2": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/me/"


def test_an_account_gets_only_a_few_codes_at_a_time(device_client):
    for _ in range(3):
        issue(device_client)
    refused = device_client.post("/api/v1/accounts/link-codes", {"account": "acct-new-1"}, format="json")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_codes"
    assert 1 <= int(refused["Retry-After"]) <= 30 * 60
    assert LinkCode.objects.count() == 3
    issue(device_client, account="acct-other")  # another account is not held back
    LinkCode.objects.update(created_at=timezone.now() - timedelta(minutes=31))
    issue(device_client)  # half an hour on, a new code


def test_asking_which_user_names_are_taken_counts_as_failed_tries(device_client):
    """With one good code, trying names to learn which exist is slowed like guessing codes."""
    User.objects.create_user("ann-1", password=PASSWORD)
    code = issue(device_client)
    for _ in range(10):
        _, response = sign_up(code, username="ANN-1")
        assert "taken" in response.content.decode()
    _, response = sign_up(code, username="river")
    assert "Too many failed tries from here" in response.content.decode()
    assert Account.objects.get(external_id="acct-new-1").user is None
