"""manage.py ingest_key: create, list, rotate and revoke the device platforms' keys from the command
line, the secret printed once, every change in the ledger by the system."""

import hashlib
import io

import pytest
from django.core.management import CommandError, call_command

from consent.models import LedgerEntry
from labeling.intake.services import ingest_key_create
from labeling.models import IngestKey
from tests.factories import link_code_with

pytestmark = pytest.mark.django_db


def key_entries() -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(action=LedgerEntry.Action.INGEST_KEY).order_by("id"))


def run(*args) -> str:
    out = io.StringIO()
    call_command("ingest_key", *args, stdout=out)
    return out.getvalue()


def test_the_command_makes_lists_rotates_and_revokes_keys_printing_a_secret_once():
    made = run("create", "--name", "Acme speakers")
    secret = next(word for word in made.split() if word.startswith("vr_"))
    key = IngestKey.objects.get()
    assert key.name == "Acme speakers" and key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert link_code_with(secret).status_code == 201

    listing = run("list")
    assert key.prefix in listing and "Acme speakers" in listing and "system" in listing
    assert secret not in listing and "vr_" not in listing

    rotated = run("rotate", str(key.pk), "--overlap-hours", "0")
    new_secret = next(word for word in rotated.split() if word.startswith("vr_"))
    assert new_secret != secret and link_code_with(new_secret).status_code == 201
    assert link_code_with(secret).status_code == 401
    new = IngestKey.objects.get(replaces=key)
    assert "expired" in run("list")

    assert "revoked" in run("revoke", str(new.pk))
    assert link_code_with(new_secret).status_code == 401
    assert [(e.detail["event"], e.actor_id) for e in key_entries()] == [("created", None), ("rotated", None),
                                                                        ("revoked", None)]


def test_the_command_says_what_is_wrong():
    with pytest.raises(CommandError, match="no ingest key"):
        run("revoke", "42")
    key, _ = ingest_key_create(name="Acme")
    with pytest.raises(CommandError, match="0 to 168"):
        run("rotate", str(key.pk), "--overlap-hours", "500")
    with pytest.raises(CommandError, match="1 to 100"):
        run("create", "--name", " ")
    assert IngestKey.objects.count() == 1 and IngestKey.objects.get().expires_at is None
