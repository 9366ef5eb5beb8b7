"""The access ledger records each access as a hash-chained entry, and verify_ledger finds any tampering."""

import hashlib
import hmac
import json
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from consent.models import LedgerEntry
from consent.services import entry_hash, head_mac, ledger_verify
from portal.services import consent_set
from tests.factories import client_for, fetch_audio, queued_clip

pytestmark = pytest.mark.django_db

A = LedgerEntry.Action


def review_one_clip(annotator, subject):
    clip = queued_clip(subject)
    client = client_for(annotator)
    client.post("/api/v1/shifts")
    assignment = client.post("/api/v1/assignments/next").json()
    assert fetch_audio(client, assignment).status_code == 200
    assert client.post(f"/api/v1/assignments/{assignment['id']}/submit", {"text": "hello"},
                       format="json").status_code == 200
    return clip, assignment


def tamper(sql: str, params=()):
    """Change the ledger behind the application's back, as someone with database access might."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE consent_ledgerentry DISABLE TRIGGER consent_ledger_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE consent_ledgerentry ENABLE TRIGGER consent_ledger_append_only")


def verify_fails(*args) -> str:
    with pytest.raises(CommandError) as failed:
        call_command("verify_ledger", *args)
    return str(failed.value)


def test_a_review_leaves_claim_stream_and_submit_in_a_valid_chain(annotator, subject, capsys):
    clip, assignment = review_one_clip(annotator, subject)
    entries = list(LedgerEntry.objects.filter(clip_id=clip.id))
    assert [e.action for e in entries] == [A.CLIP_CLAIM, A.AUDIO_STREAM, A.TRANSCRIPT_SUBMIT]
    assert {(e.actor_id, e.account_id, str(e.assignment_id)) for e in entries} == {
        (annotator.pk, subject.id, assignment["id"])}
    # The subject's consent came first; every entry links to the one before it.
    assert LedgerEntry.objects.filter(account_id=subject.id).first().action == A.CONSENT_CHANGE
    chains = {}
    for entry in LedgerEntry.objects.order_by("chain", "seq"):
        chains.setdefault(entry.chain, []).append(entry)
    assert len({e.chain for e in entries}) == 1  # one person's actions stay in one chain, in order
    for chain in chains.values():
        assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
        assert all(b.prev_hash == a.hash for a, b in zip(chain, chain[1:], strict=False))
    call_command("verify_ledger")
    assert f"ledger intact: {LedgerEntry.objects.count()} entries in {len(chains)} chains" in capsys.readouterr().out


def test_consent_changes_are_recorded_without_the_subject_identifiers(subject):
    consent_set(account=subject, granted=False, channel="portal")
    entry = LedgerEntry.objects.filter(action=A.CONSENT_CHANGE).last()
    assert entry.account_id == subject.id and entry.detail["granted"] is False
    text = str(entry.detail) + str(entry.actor_id)
    assert subject.external_id not in text and subject.first_name not in text


def test_an_edited_entry_is_found(annotator, subject):
    clip, _ = review_one_clip(annotator, subject)
    target = LedgerEntry.objects.get(clip_id=clip.id, action=A.AUDIO_STREAM)
    tamper("UPDATE consent_ledgerentry SET action = %s WHERE id = %s", [A.LOGIN, target.id])
    message = verify_fails()
    assert "BROKEN" in message and f"chain {target.chain} entry {target.seq}" in message
    report = ledger_verify()
    assert [(p.chain, p.seq, "altered" in p.problem) for p in report.problems] == [(target.chain, target.seq, True)]


def test_a_removed_entry_is_found(annotator, subject):
    clip, _ = review_one_clip(annotator, subject)
    target = LedgerEntry.objects.get(clip_id=clip.id, action=A.AUDIO_STREAM)
    tamper("DELETE FROM consent_ledgerentry WHERE id = %s", [target.id])
    verify_fails()
    problems = ledger_verify().problems
    assert {(p.chain, p.seq) for p in problems} == {(target.chain, target.seq + 1)}
    assert any("missing" in p.problem for p in problems) and any("link" in p.problem for p in problems)


def test_reordered_entries_are_found(annotator, subject):
    clip, _ = review_one_clip(annotator, subject)
    first, second = LedgerEntry.objects.filter(clip_id=clip.id)[:2]
    assert first.chain == second.chain
    # Swap the two entries' places in their chain, hashes and all.
    tamper("UPDATE consent_ledgerentry SET seq = seq + 1000000 WHERE id IN (%s, %s)", [first.id, second.id])
    tamper("UPDATE consent_ledgerentry SET seq = CASE WHEN id = %s THEN %s ELSE %s END WHERE id IN (%s, %s)",
           [first.id, second.seq, first.seq, first.id, second.id])
    assert list(LedgerEntry.objects.filter(chain=first.chain, seq__in=[first.seq, second.seq]).order_by("seq")
                .values_list("hash", flat=True)) == [second.hash, first.hash]
    verify_fails()
    assert ledger_verify().problems


def test_removing_the_newest_entries_is_found_against_the_recorded_and_a_kept_head(annotator, subject, capsys):
    clip, _ = review_one_clip(annotator, subject)
    call_command("verify_ledger")
    heads = capsys.readouterr().out.split("heads ")[1].strip()
    call_command("verify_ledger", "--expect-head", heads)
    newest = LedgerEntry.objects.filter(clip_id=clip.id).order_by("-id").first()
    tamper("DELETE FROM consent_ledgerentry WHERE id = %s", [newest.id])
    # What is left is a valid, shorter chain; the head that appends recorded says it was longer ...
    assert "the newest entries were removed" in verify_fails()
    # ... a writer who also rewinds that head cannot give it the MAC only LEDGER_KEY makes ...
    before = LedgerEntry.objects.filter(chain=newest.chain).order_by("-seq").first()
    tamper("UPDATE consent_ledgerhead SET seq = %s, hash = %s WHERE chain = %s",
           [before.seq, before.hash, newest.chain])
    assert "head is not authenticated" in verify_fails()
    # ... and one who puts back a head row copied earlier is caught by a head kept elsewhere.
    tamper("UPDATE consent_ledgerhead SET mac = %s WHERE chain = %s",
           [head_mac(newest.chain, before.seq, before.hash), newest.chain])
    call_command("verify_ledger")
    assert "expected head is gone" in verify_fails("--expect-head", heads)


def rechain(chain: int, edit=None):
    """Recompute a chain's hashes and its head as a database writer can, without LEDGER_KEY:
    `edit` changes an entry first. Returns the chain's entries as rewritten."""
    entries = list(LedgerEntry.objects.filter(chain=chain).order_by("seq"))
    prev = "0" * 64
    for entry in entries:
        if edit:
            edit(entry)
        entry.prev_hash = prev
        entry.hash = entry_hash(entry)
        tamper("UPDATE consent_ledgerentry SET action = %s, detail = %s, prev_hash = %s, hash = %s WHERE id = %s",
               [entry.action, json.dumps(entry.detail), entry.prev_hash, entry.hash, entry.id])
        prev = entry.hash
    tamper("UPDATE consent_ledgerhead SET hash = %s WHERE chain = %s", [prev, chain])
    return entries


def test_a_chain_rewritten_with_its_hashes_recomputed_fails_without_the_ledger_key(annotator, subject):
    clip, _ = review_one_clip(annotator, subject)
    target = LedgerEntry.objects.get(clip_id=clip.id, action=A.AUDIO_STREAM)

    def hide_the_stream(entry):
        if entry.id == target.id:
            entry.action, entry.detail = A.LOGIN, {}

    rechain(target.chain, hide_the_stream)
    # Every link and hash is consistent again: only the key tells the rewrite.
    problems = ledger_verify().problems
    assert {p.seq for p in problems if "ledger key" in p.problem} >= {target.seq}
    assert all("ledger key" in p.problem for p in problems)
    assert "not authenticated by the ledger key" in verify_fails()


def test_an_entry_added_without_the_ledger_key_fails(annotator, subject):
    clip, _ = review_one_clip(annotator, subject)
    newest = LedgerEntry.objects.filter(chain=LedgerEntry.objects.get(clip_id=clip.id, action=A.AUDIO_STREAM).chain
                                        ).order_by("-seq").first()
    forged = LedgerEntry(chain=newest.chain, seq=newest.seq + 1, created_at=newest.created_at, action=A.LOGIN,
                         actor_id=newest.actor_id, detail={}, prev_hash=newest.hash)
    forged.hash = entry_hash(forged)
    forged.mac = hmac.new(b"a guessed key".ljust(32, b"."), forged.hash.encode(), hashlib.sha256).hexdigest()
    forged.save()
    tamper("UPDATE consent_ledgerhead SET seq = %s, hash = %s WHERE chain = %s",
           [forged.seq, forged.hash, forged.chain])
    message = verify_fails()
    assert f"chain {forged.chain} entry {forged.seq}: not authenticated by the ledger key" in message
    assert "head is not authenticated" in message


def test_entries_written_before_the_key_are_sealed_by_the_migration(annotator, subject, capsys):
    from importlib import import_module

    from django.apps import apps as installed

    clip, _ = review_one_clip(annotator, subject)
    tamper("UPDATE consent_ledgerentry SET mac = ''")
    tamper("UPDATE consent_ledgerhead SET mac = ''")
    assert all("ledger key" in p.problem for p in ledger_verify().problems)
    sealing = import_module("consent.migrations.0011_ledger_keyed")
    with transaction.atomic(), connection.cursor() as cursor:  # as the migration runs: in one transaction
        editor = SimpleNamespace(connection=connection, execute=lambda sql, params=None: cursor.execute(sql))
        sealing.seal(installed, editor)
    call_command("verify_ledger")
    assert "ledger intact" in capsys.readouterr().out
    if connection.vendor == "postgresql":  # the append-only trigger is back on
        with pytest.raises(DatabaseError), transaction.atomic():
            LedgerEntry.objects.filter(clip_id=clip.id).update(detail={})


def test_logins_and_failed_logins_are_recorded_without_the_typed_name(client, annotator):
    assert client.login(username="ann-1", password="wrong password") is False
    assert client.login(username="nobody@example.com", password="x") is False
    assert client.login(username="ann-1", password="correct horse battery") is True
    actions = list(LedgerEntry.objects.filter(action__in=[A.LOGIN, A.LOGIN_FAILED]).values_list("action", "actor_id"))
    assert actions == [(A.LOGIN_FAILED, annotator.pk), (A.LOGIN_FAILED, None), (A.LOGIN, annotator.pk)]
    assert "nobody" not in str(list(LedgerEntry.objects.values_list("detail", flat=True)))


@pytest.mark.postgres_only
def test_postgres_refuses_to_change_or_remove_an_entry(on_postgres, subject):
    entry = LedgerEntry.objects.last()
    for sql in ("UPDATE consent_ledgerentry SET action = 'login' WHERE id = %s",
                "DELETE FROM consent_ledgerentry WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.id])
    assert LedgerEntry.objects.get(id=entry.id).hash == entry.hash
    call_command("verify_ledger")
