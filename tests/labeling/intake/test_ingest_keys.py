"""Ingest keys managed in the product: issued, listed, rotated with an overlap and revoked by
supervisors allowed to (or the command), the secret shown once, every change in the ledger."""

import hashlib
import io
import logging
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from config.observability import JsonFormatter
from consent.models import LedgerEntry
from consent.services import ledger_verify
from labeling.intake.services import ingest_key_create
from labeling.models import IngestKey
from tests.factories import client_for, key_client, link_code_with, make_user, metadata, upload

pytestmark = pytest.mark.django_db


def allow_keys(user):
    user.user_permissions.add(Permission.objects.get(codename="manage_ingest_keys"))
    return user


@pytest.fixture
def manager():
    return allow_keys(make_user("sup-keys", "supervisor"))


@pytest.fixture
def api(manager) -> APIClient:
    return client_for(manager)


def key_entries() -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(action=LedgerEntry.Action.INGEST_KEY).order_by("id"))


def test_a_new_key_shows_its_secret_once_and_keeps_only_its_hash(api, manager):
    response = api.post("/api/v1/ingest-keys", {"name": "Acme speakers"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    secret = body["secret"]
    assert secret.startswith(f"vr_{body['prefix']}_") and len(secret) > 40
    assert response["Cache-Control"] == "no-store"
    assert body["name"] == "Acme speakers" and body["state"] == "active" and body["created_by"] == "sup-keys"
    key = IngestKey.objects.get(pk=body["id"])
    assert key.key_hash == hashlib.sha256(secret.encode()).hexdigest() and key.created_by == manager
    stored = [str(value) for value in IngestKey.objects.filter(pk=key.pk).values().first().values()]
    assert not any(secret in value for value in stored)

    listed = api.get("/api/v1/ingest-keys")
    assert listed.status_code == 200
    assert secret not in listed.content.decode() and secret.split("_", 2)[2] not in listed.content.decode()
    assert [row["prefix"] for row in listed.json()] == [key.prefix]
    assert "secret" not in listed.json()[0]


def test_a_key_made_in_the_product_uploads(api, subject, speech_wav):
    secret = api.post("/api/v1/ingest-keys", {"name": "Acme"}, format="json").json()["secret"]
    assert upload(key_client(secret), speech_wav, metadata()).status_code == 202


def test_the_list_shows_use_expiry_revocation_and_which_key_replaced_which(api):
    first = api.post("/api/v1/ingest-keys", {"name": "Acme"}, format="json").json()
    link_code_with(first["secret"])
    second = api.post(f"/api/v1/ingest-keys/{first['id']}/rotate", {"overlap_hours": 2}, format="json").json()
    other = ingest_key_create(name="Globex")[0]
    api.post(f"/api/v1/ingest-keys/{other.pk}/revoke")
    rows = {row["id"]: row for row in api.get("/api/v1/ingest-keys").json()}
    old, new, revoked = rows[first["id"]], rows[second["id"]], rows[other.pk]
    assert old["state"] == "expiring" and old["replaced_by"] == second["id"] and old["last_used_at"]
    expires = datetime.fromisoformat(old["expires_at"])
    assert timedelta(hours=1, minutes=59) < expires - timezone.now() <= timedelta(hours=2)
    assert new["state"] == "active" and new["replaces"] == first["id"] and new["name"] == "Acme"
    assert new["last_used_at"] is None and new["expires_at"] is None
    assert revoked["state"] == "revoked" and revoked["revoked_at"] and revoked["created_by"] is None
    assert [row["id"] for row in api.get("/api/v1/ingest-keys").json()][0] == other.pk  # newest first


@pytest.mark.parametrize("who", ["annotator", "supervisor without the permission", "owner", "device",
                                 "anonymous", "annotator with the permission"])
def test_nobody_else_lists_makes_rotates_or_revokes_a_key(who, device_key, subject):
    key = IngestKey.objects.get()
    if who == "device":
        client = key_client(device_key)
    elif who == "anonymous":
        client = APIClient()
    elif who == "owner":
        client = client_for(allow_keys(subject.user), verified=False)
    else:
        user = make_user("someone", "annotator" if who.startswith("annotator") else "supervisor")
        client = client_for(allow_keys(user) if who.endswith("with the permission") else user)
    calls = [client.get("/api/v1/ingest-keys"),
             client.post("/api/v1/ingest-keys", {"name": "Mine"}, format="json"),
             client.post(f"/api/v1/ingest-keys/{key.pk}/rotate", {"overlap_hours": 0}, format="json"),
             client.post(f"/api/v1/ingest-keys/{key.pk}/revoke")]
    assert [response.status_code for response in calls] == [403, 403, 403, 403]
    assert not any(key.prefix.encode() in response.content for response in calls)
    key.refresh_from_db()
    assert IngestKey.objects.count() == 1 and key.is_active(timezone.now()) and key_entries()[1:] == []
    assert link_code_with(device_key).status_code == 201


def test_the_permission_may_come_through_a_group(supervisor):
    group = Group.objects.create(name="ingest key managers")
    group.permissions.add(Permission.objects.get(codename="manage_ingest_keys"))
    supervisor.groups.add(group)
    assert client_for(supervisor).get("/api/v1/ingest-keys").status_code == 200


def test_a_revoked_key_is_refused_at_once_and_revoking_again_changes_nothing(api, manager):
    key, secret = ingest_key_create(name="Acme")
    assert link_code_with(secret).status_code == 201
    response = api.post(f"/api/v1/ingest-keys/{key.pk}/revoke")
    assert response.status_code == 200 and response.json()["state"] == "revoked"
    refused = link_code_with(secret)
    assert refused.status_code == 401 and refused.json()["error"]["message"] == "The device key is not valid."
    revoked_at = IngestKey.objects.get(pk=key.pk).revoked_at
    again = api.post(f"/api/v1/ingest-keys/{key.pk}/revoke")
    assert again.status_code == 200 and IngestKey.objects.get(pk=key.pk).revoked_at == revoked_at
    assert [entry.detail["event"] for entry in key_entries()] == ["created", "revoked"]


def test_during_the_overlap_both_keys_work_and_then_only_the_new_one(api):
    old, old_secret = ingest_key_create(name="Acme")
    response = api.post(f"/api/v1/ingest-keys/{old.pk}/rotate", {}, format="json")
    assert response.status_code == 201, response.content
    new_secret = response.json()["secret"]
    assert new_secret != old_secret and response["Cache-Control"] == "no-store"
    assert link_code_with(old_secret).status_code == 201 and link_code_with(new_secret).status_code == 201
    old.refresh_from_db()
    assert timedelta(hours=23, minutes=59) < old.expires_at - timezone.now() <= timedelta(hours=24)  # the default

    IngestKey.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))  # the day passes
    assert link_code_with(old_secret).status_code == 401
    assert link_code_with(new_secret).status_code == 201
    assert api.get("/api/v1/ingest-keys").json()[1]["state"] == "expired"


def test_a_rotation_without_overlap_stops_the_old_key_at_once(api):
    old, old_secret = ingest_key_create(name="Acme")
    new_secret = api.post(f"/api/v1/ingest-keys/{old.pk}/rotate", {"overlap_hours": 0}, format="json").json()["secret"]
    assert link_code_with(old_secret).status_code == 401 and link_code_with(new_secret).status_code == 201


@pytest.mark.parametrize("overlap", [-1, 169, "a day", 1.5, None])
def test_an_overlap_out_of_bounds_is_refused_and_nothing_changes(api, overlap):
    old, old_secret = ingest_key_create(name="Acme")
    response = api.post(f"/api/v1/ingest-keys/{old.pk}/rotate", {"overlap_hours": overlap}, format="json")
    assert response.status_code == 400 and "overlap_hours" in response.json()["error"]["fields"]
    assert IngestKey.objects.count() == 1 and IngestKey.objects.get().expires_at is None
    assert link_code_with(old_secret).status_code == 201


def test_a_key_is_replaced_once_and_a_stopped_key_not_at_all(api):
    old, _ = ingest_key_create(name="Acme")
    assert api.post(f"/api/v1/ingest-keys/{old.pk}/rotate", {"overlap_hours": 5}, format="json").status_code == 201
    twice = api.post(f"/api/v1/ingest-keys/{old.pk}/rotate", {"overlap_hours": 5}, format="json")
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "ingest_key_replaced"
    revoked, _ = ingest_key_create(name="Globex")
    api.post(f"/api/v1/ingest-keys/{revoked.pk}/revoke")
    stopped = api.post(f"/api/v1/ingest-keys/{revoked.pk}/rotate", {}, format="json")
    assert stopped.status_code == 409 and stopped.json()["error"]["code"] == "ingest_key_inactive"
    assert IngestKey.objects.count() == 3


def test_bad_input_is_refused_with_what_is_wrong(api):
    for body in ({}, {"name": ""}, {"name": "   "}, {"name": "x" * 101}, {"name": "Acme", "secret": "mine"}):
        response = api.post("/api/v1/ingest-keys", body, format="json")
        assert response.status_code == 400, body
        assert response.json()["error"]["fields"]
    assert api.post("/api/v1/ingest-keys/999/rotate", {}, format="json").status_code == 404
    assert api.post(f"/api/v1/ingest-keys/{2**70}/revoke").status_code == 404
    assert api.post("/api/v1/ingest-keys/1/revoke", {"now": True}, format="json").status_code == 400
    assert IngestKey.objects.count() == 0


def test_the_ledger_records_each_change_with_its_actor_and_never_the_secret(api, manager):
    created = api.post("/api/v1/ingest-keys", {"name": "Acme"}, format="json").json()
    rotated = api.post(f"/api/v1/ingest-keys/{created['id']}/rotate", {"overlap_hours": 3}, format="json").json()
    api.post(f"/api/v1/ingest-keys/{rotated['id']}/revoke")
    entries = key_entries()
    assert [(e.detail["event"], e.detail["key"], e.actor_id) for e in entries] == [
        ("created", created["id"], manager.pk), ("rotated", created["id"], manager.pk),
        ("revoked", rotated["id"], manager.pk)]
    assert entries[0].detail["prefix"] == created["prefix"]
    assert entries[1].detail["new_key"] == rotated["id"] and entries[1].detail["overlap_hours"] == 3
    assert entries[1].detail["old_key_expires_at"]
    for entry in entries:
        assert created["secret"] not in str(entry.detail) and rotated["secret"] not in str(entry.detail)
        assert entry.account_id is None and entry.clip_id is None
    assert not ledger_verify().problems


def test_no_log_line_holds_a_secret(api, caplog, subject, speech_wav):
    caplog.set_level(logging.DEBUG)
    created = api.post("/api/v1/ingest-keys", {"name": "Acme"}, format="json").json()
    rotated = api.post(f"/api/v1/ingest-keys/{created['id']}/rotate", {"overlap_hours": 1}, format="json").json()
    upload(key_client(created["secret"]), speech_wav, metadata())
    link_code_with(rotated["secret"])
    api.post(f"/api/v1/ingest-keys/{created['id']}/revoke")
    link_code_with(created["secret"])  # refused
    key_client(created["secret"][:-2] + "xx").get("/api/v1/clips/held")
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert lines  # the requests were logged
    for secret in (created["secret"], rotated["secret"]):
        assert not any(secret.split("_", 2)[2][:12] in line for line in lines)


def test_the_last_use_is_written_at_most_once_a_minute_per_key(subject, speech_wav):
    key, secret = ingest_key_create(name="Acme")
    assert upload(key_client(secret), speech_wav, metadata()).status_code == 202
    first = IngestKey.objects.get(pk=key.pk).last_used_at
    assert first is not None and timezone.now() - first < timedelta(seconds=30)

    table = IngestKey._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert upload(key_client(secret), speech_wav, metadata()).status_code == 202
    assert not [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE") and table in q["sql"]]
    assert IngestKey.objects.get(pk=key.pk).last_used_at == first

    IngestKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=2))  # a minute passes
    assert link_code_with(secret).status_code == 201
    assert IngestKey.objects.get(pk=key.pk).last_used_at > first


def test_a_refused_key_is_not_marked_used():
    key, secret = ingest_key_create(name="Acme")
    IngestKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    assert link_code_with(secret).status_code == 401
    assert link_code_with(f"vr_{key.prefix}_guessed").status_code == 401
    assert IngestKey.objects.get(pk=key.pk).last_used_at is None


def test_demo_setup_makes_its_key_through_the_service_and_lets_its_supervisor_manage_keys():
    call_command("demo_setup", "--no-clips", stdout=io.StringIO())
    first = IngestKey.objects.get(name="demo device")
    out = io.StringIO()
    call_command("demo_setup", "--no-clips", stdout=out)
    secret = next(word for word in out.getvalue().split() if word.startswith("vr_"))
    assert IngestKey.objects.get(pk=first.pk).revoked_at is not None
    assert link_code_with(secret).status_code == 201
    assert [e.detail["event"] for e in key_entries()] == ["created", "revoked", "created"]
    supervisor = User.objects.get(username="supervisor")
    assert client_for(supervisor).get("/api/v1/ingest-keys").status_code == 200


def test_the_database_refuses_a_second_replacement_of_one_key():
    old, _ = ingest_key_create(name="Acme")
    IngestKey.objects.create(name="Acme", prefix="aaaaaaaaaaaa", key_hash="0" * 64, replaces=old)
    with pytest.raises(IntegrityError), transaction.atomic():
        IngestKey.objects.create(name="Acme", prefix="bbbbbbbbbbbb", key_hash="1" * 64, replaces=old)
