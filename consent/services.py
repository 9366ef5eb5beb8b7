"""Writes of accounts, consent and the access ledger; revoking consent withdraws the subject's clips at once."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from consent.models import (
    Account,
    ConsentRecord,
    DeletionReceipt,
    LedgerEntry,
    LedgerHead,
    LinkCode,
    PolicyVersion,
)
from consent.selectors import policy_current
from core.errors import ApplicationError, Conflict, NotFound, TooMany, Unavailable
from core.throttle import blocked_until, failure_noted

GENESIS_HASH = "0" * 64


def account_create(*, external_id: str, first_name: str = "", user: AbstractBaseUser | None = None) -> Account:
    return Account.objects.create(external_id=external_id, first_name=first_name, user=user)


def consent_append(*, account: Account, granted: bool, channel: str,
                   policy_version: str | None = None) -> tuple[ConsentRecord, bool]:
    """Append a consent version under the current policy, unless it would repeat the newest; returns
    (the newest record, whether it is new). `policy_version`: the version whose text the owner was
    shown; it must be a published one, and for a grant the current one (the owner agrees to the
    text in force, never to a draft or an outdated one). What a revocation does to the owner's clips
    is portal.services.consent_set's."""
    with transaction.atomic():
        # Serializes concurrent changes for one account so versions stay gapless.
        Account.objects.select_for_update().filter(pk=account.pk).exists()
        policy = _policy_for_consent(policy_version, granted=granted)
        last = ConsentRecord.objects.filter(account=account).order_by("-version").first()
        if last is not None and last.granted == granted and last.policy_version == policy.version:
            return last, False
        record = ConsentRecord.objects.create(
            account=account,
            version=(last.version + 1) if last else 1,
            granted=granted,
            policy_version=policy.version,
            channel=channel,
        )
        ledger_append(action=LedgerEntry.Action.CONSENT_CHANGE, actor_id=account.user_id, account_id=account.id,
                      detail={"granted": granted, "version": record.version, "policy": policy.version,
                              "channel": channel})
    return record, True


def _policy_for_consent(named: str | None, *, granted: bool) -> PolicyVersion:
    """The current policy, checked against the version the owner named. Unpublished drafts answer
    as versions that do not exist, so nobody learns of a draft this way."""
    current = policy_current()
    if current is None:
        raise Unavailable("no_policy", "No review policy is published yet; nobody can agree to one.",
                          retry_after=3600)
    if named is None or named == current.version:
        return current
    if not PolicyVersion.objects.filter(version=named, number__isnull=False).exists():
        raise ApplicationError("unknown_policy_version", f"There is no published policy version '{named}'.",
                               fields={"policy_version": ["No such published version."]})
    if granted:
        raise Conflict("policy_changed", f"Version {named} is no longer the current policy: read version "
                       f"{current.version} and agree to it instead.")
    return current


def policy_version_publish(*, policy_id: int) -> PolicyVersion:
    """Publish a draft: it becomes the current policy, numbered after every earlier one. What a
    material change sets in motion is labeling.custody.services.policy_publish's."""
    with transaction.atomic():
        policy = PolicyVersion.objects.select_for_update().filter(pk=policy_id).first()
        if policy is None:
            raise NotFound("not_found", "No such policy version.")
        if policy.published:
            raise Conflict("already_published", f"Version {policy.version} was published on "
                           f"{policy.published_at:%Y-%m-%d %H:%M} UTC; a change is a new version.")
        if not policy.text.strip():
            raise ApplicationError("empty_policy", "A policy version needs its text before it is published.",
                                   fields={"text": ["Required."]})
        # The unique index on number refuses a second publication racing for the same number.
        last = PolicyVersion.objects.filter(number__isnull=False).aggregate(last=Max("number"))["last"] or 0
        PolicyVersion.objects.filter(pk=policy.pk, number__isnull=True).update(number=last + 1,
                                                                              published_at=timezone.now())
        policy.refresh_from_db()
    return policy


def receipt_signature(receipt: DeletionReceipt) -> str:
    """HMAC of the receipt's content under the installation's secret: a receipt shown later can be
    checked against what was issued."""
    content = json.dumps({"id": str(receipt.id), "account": str(receipt.account_id),
                          "created_at": receipt.created_at.astimezone(UTC).isoformat(), "scope": receipt.scope,
                          "items": receipt.items}, sort_keys=True, separators=(",", ":"))
    return hmac.new(settings.SECRET_KEY.encode(), f"receipt:{content}".encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- access ledger


def _canonical(entry: LedgerEntry) -> str:
    """The entry's content as hashed: every field but its own hash and its global id, in one fixed text form."""
    return json.dumps({
        "chain": entry.chain,
        "seq": entry.seq,
        "at": entry.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "action": entry.action,
        "actor": entry.actor_id,
        "account": str(entry.account_id) if entry.account_id else None,
        "clip": str(entry.clip_id) if entry.clip_id else None,
        "assignment": str(entry.assignment_id) if entry.assignment_id else None,
        "detail": entry.detail,
        "prev": entry.prev_hash,
    }, sort_keys=True, separators=(",", ":"))


def entry_hash(entry: LedgerEntry) -> str:
    return hashlib.sha256(_canonical(entry).encode()).hexdigest()


def _ledger_mac(kind: str, chain: int, seq: int, digest: str) -> str:
    return hmac.new(settings.LEDGER_KEY, f"{kind}:{chain}:{seq}:{digest}".encode(), hashlib.sha256).hexdigest()


def entry_mac(chain: int, seq: int, digest: str) -> str:
    """Authenticates an entry's place and hash (which covers its content and the hash before it)."""
    return _ledger_mac("entry", chain, seq, digest)


def head_mac(chain: int, seq: int, digest: str) -> str:
    """Authenticates a chain's head; apart from entry_mac, so an entry's MAC cannot pass for a head's."""
    return _ledger_mac("head", chain, seq, digest)


def ledger_chain_of(actor_id: int | None) -> int:
    return (actor_id or 0) % settings.LEDGER_CHAINS


def ledger_append(*, action: str, actor_id: int | None = None, account_id: uuid.UUID | None = None,
                  clip_id: uuid.UUID | None = None, assignment_id: uuid.UUID | None = None,
                  detail: dict | None = None) -> LedgerEntry:
    """Chain one entry onto its actor's chain, inside the caller's transaction if there is one, so
    the entry exists exactly when what it records does. The update of the chain's head row reserves
    the position and returns the hash to chain onto; its row lock, held until commit, serializes
    appends to one chain (on SQLite the write lock every transaction takes at BEGIN does). Call it
    last in a transaction."""
    return ledger_append_many(action=action, actor_id=actor_id, entries=[
        {"account_id": account_id, "clip_id": clip_id, "assignment_id": assignment_id, "detail": detail or {}}])[0]


def ledger_append_many(*, action: str, actor_id: int | None = None, entries: list[dict]) -> list[LedgerEntry]:
    """Chain one entry per item of `entries` (each with account_id, clip_id, assignment_id and detail,
    as ledger_append takes them; missing ones are empty) onto the actor's chain, in order, as
    ledger_append does one: the positions are reserved by one update of the chain's head and the
    entries written by one insert, whatever their number. Call it last in a transaction."""
    if not entries:
        return []
    chain = ledger_chain_of(actor_id)
    head = LedgerHead._meta.db_table
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        reserve = f"UPDATE {head} SET seq = seq + %s WHERE chain = %s RETURNING seq, hash"
        cursor.execute(reserve, [len(entries), chain])
        row = cursor.fetchone()
        if row is None:  # the chain's first entry
            cursor.execute(f"INSERT INTO {head} (chain, seq, hash, mac) VALUES (%s, 0, %s, '') "
                           "ON CONFLICT DO NOTHING", [chain, GENESIS_HASH])
            cursor.execute(reserve, [len(entries), chain])
            row = cursor.fetchone()
        last_seq, prev_hash = row
        now = timezone.now()
        chained = []
        for seq, item in enumerate(entries, start=last_seq - len(entries) + 1):
            entry = LedgerEntry(chain=chain, seq=seq, created_at=now, action=action, actor_id=actor_id,
                                account_id=item.get("account_id"), clip_id=item.get("clip_id"),
                                assignment_id=item.get("assignment_id"), detail=item.get("detail") or {},
                                prev_hash=prev_hash)
            entry.hash = prev_hash = entry_hash(entry)
            entry.mac = entry_mac(chain, seq, entry.hash)
            chained.append(entry)
        fields = [f for f in LedgerEntry._meta.concrete_fields if f.name != "id"]
        row_sql = f"({', '.join(['%s'] * len(fields))})"
        insert = (f"INSERT INTO {LedgerEntry._meta.db_table} ({', '.join(f.column for f in fields)}) "
                  f"VALUES {', '.join([row_sql] * len(chained))}")
        values = [f.get_db_prep_save(getattr(entry, f.attname), connection) for entry in chained for f in fields]
        set_hash = f"UPDATE {head} SET hash = %s, mac = %s WHERE chain = %s"
        new_head = [prev_hash, head_mac(chain, last_seq, prev_hash), chain]
        if connection.vendor == "postgresql":
            cursor.execute(f"WITH e AS ({insert}) {set_hash}", [*values, *new_head])
        else:
            cursor.execute(insert, values)
            cursor.execute(set_hash, new_head)
    return chained


@dataclass(frozen=True)
class LedgerProblem:
    chain: int
    seq: int
    problem: str


@dataclass(frozen=True)
class LedgerReport:
    entries: int
    heads: dict[int, tuple[int, str]]  # chain -> (seq, hash) of its newest entry
    problems: list[LedgerProblem]

    @property
    def intact(self) -> bool:
        return not self.problems


def ledger_verify(*, batch: int = 5_000) -> LedgerReport:
    """Walk every chain in order. An edited entry no longer matches its hash; a removed one leaves a
    gap in its chain's positions and a broken link; reordered ones break links; an entry written
    without LEDGER_KEY (a chain rewritten and its hashes recomputed, an entry added) fails its MAC.
    Removing a chain's newest entries leaves a shorter valid chain: each chain's end is compared
    with the head that appends keep (LedgerHead, whose MAC a writer without the key cannot make for
    an earlier end), and with heads kept elsewhere (verify_ledger --expect-head), which also catch
    the whole ledger put back to an earlier copy of itself."""
    problems: list[LedgerProblem] = []
    heads: dict[int, tuple[int, str]] = {}
    count = 0
    for entry in LedgerEntry.objects.order_by("chain", "seq").iterator(chunk_size=batch):
        count += 1
        last_seq, prev_hash = heads.get(entry.chain, (0, GENESIS_HASH))
        where = (entry.chain, entry.seq)
        if entry.seq != last_seq + 1:
            problems.append(LedgerProblem(*where, f"entries {last_seq + 1} to {entry.seq - 1} are missing"))
        if entry.prev_hash != prev_hash:
            problems.append(LedgerProblem(*where, "does not link to the entry before it"))
        if entry_hash(entry) != entry.hash:
            problems.append(LedgerProblem(*where, "content does not match its hash (altered)"))
        if not hmac.compare_digest(entry.mac, entry_mac(entry.chain, entry.seq, entry.hash)):
            problems.append(LedgerProblem(*where, "not authenticated by the ledger key (written without it)"))
        heads[entry.chain] = (entry.seq, entry.hash)
    for chain, seq, digest, mac in LedgerHead.objects.order_by("chain").values_list("chain", "seq", "hash", "mac"):
        ended, last_hash = heads.get(chain, (0, GENESIS_HASH))
        if seq == 0:
            continue  # a chain reserved but never written
        if not hmac.compare_digest(mac, head_mac(chain, seq, digest)):
            problems.append(LedgerProblem(chain, seq, "the chain's head is not authenticated by the ledger key "
                                                      "(rewound or written without it)"))
        if ended < seq:
            problems.append(LedgerProblem(chain, seq, f"the chain ends at entry {ended}: the newest entries "
                                                      "were removed"))
        elif ended == seq and last_hash != digest:
            problems.append(LedgerProblem(chain, seq, "differs from the head that appends recorded"))
    return LedgerReport(count, heads, problems)


# ---------------------------------------------------------------- owners signing up

LINK_CODE_MINUTES = 30
# Guessing codes: at most this many wrong codes from one address in SIGN_UP_WINDOW_MINUTES, then wait.
SIGN_UP_TRIES_PER_ADDRESS = 10
SIGN_UP_WINDOW_MINUTES = 15
# Codes for one account: at most this many issued in LINK_CODE_MINUTES (each live one is a target).
LINK_CODES_PER_ACCOUNT = 3
# Unambiguous letters and digits; 10 of them: about 50 bits, tried at most a few times a minute.
LINK_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _link_code_hash(code: str) -> str:
    normalized = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(f"link:{normalized}".encode()).hexdigest()


def link_code_issue(*, external_id: str) -> tuple[str, LinkCode]:
    """The device platform asks for a code for one of its users (the account is created if new,
    without consent). The code is shown once and kept only as a hash."""
    with transaction.atomic():
        account = Account.objects.filter(external_id=external_id).first() or account_create(external_id=external_id)
        Account.objects.select_for_update().filter(pk=account.pk).exists()  # one issuer at a time per account
        now = timezone.now()
        since = now - timedelta(minutes=LINK_CODE_MINUTES)
        issued = list(LinkCode.objects.filter(account=account, created_at__gt=since)
                      .order_by("created_at").values_list("created_at", flat=True))
        if len(issued) >= LINK_CODES_PER_ACCOUNT:
            wait = issued[-LINK_CODES_PER_ACCOUNT] + timedelta(minutes=LINK_CODE_MINUTES) - now
            raise TooMany("too_many_codes", f"This account was given {LINK_CODES_PER_ACCOUNT} codes in the last "
                          f"{LINK_CODE_MINUTES} min; use one of them, or ask again later.",
                          retry_after=max(1, int(wait.total_seconds()) + 1))
        raw = "".join(secrets.choice(LINK_CODE_ALPHABET) for _ in range(10))
        link = LinkCode.objects.create(account=account, code_hash=_link_code_hash(raw),
                                       expires_at=timezone.now() + timedelta(minutes=LINK_CODE_MINUTES))
    return f"{raw[:5]}-{raw[5:]}", link


def owner_sign_up(*, code: str, username: str, password: str, address: str = "") -> AbstractBaseUser:
    """Create the owner's login from a valid, unused link code. Consent stays as it was (none for a
    new account) until the owner chooses. `address`: where the request came from; after
    SIGN_UP_TRIES_PER_ADDRESS wrong codes from it within SIGN_UP_WINDOW_MINUTES it must wait."""
    window = SIGN_UP_WINDOW_MINUTES * 60
    now = timezone.now()
    until = blocked_until("sign_up", address, now=now, window_seconds=window, limit=SIGN_UP_TRIES_PER_ADDRESS)
    if until is not None:
        wait = max(1, int((until - now).total_seconds()) + 1)
        raise TooMany("too_many_tries", f"Too many failed tries from here: try again in {wait // 60 + 1} min.",
                      retry_after=wait)
    User = get_user_model()
    username = username.strip()
    if not username or len(username) > 150:
        raise ApplicationError("invalid_username", "Choose a user name of 1 to 150 characters.",
                               fields={"username": ["Invalid."]})
    try:
        validate_password(password, User(username=username))
    except ValidationError as exc:
        raise ApplicationError("weak_password", " ".join(exc.messages), fields={"password": exc.messages}) from None
    with transaction.atomic():
        link = (LinkCode.objects.select_for_update().select_related("account")
                .filter(code_hash=_link_code_hash(code), used_at__isnull=True, expires_at__gt=now).first())
        if link is None:
            failure_noted("sign_up", address, now=now, window_seconds=window, keep=SIGN_UP_TRIES_PER_ADDRESS)
            raise ApplicationError("invalid_code", "This code is not valid: it may be mistyped, used or expired. "
                                   "Ask your device app for a new one.", fields={"code": ["Not valid."]})
        account = Account.objects.select_for_update().get(pk=link.account_id)
        if account.user_id is not None:
            raise Conflict("already_linked", "This device account already has a login: sign in instead.")
        if User.objects.filter(username__iexact=username).exists():
            # Telling a name is taken tells that it exists: it counts against the address like a wrong code.
            failure_noted("sign_up", address, now=now, window_seconds=window, keep=SIGN_UP_TRIES_PER_ADDRESS)
            raise ApplicationError("username_taken", "This user name is taken: choose another.",
                                   fields={"username": ["Taken."]})
        user = User.objects.create_user(username=username, password=password)
        account.user = user
        account.save(update_fields=["user"])
        LinkCode.objects.filter(pk=link.pk).update(used_at=now)
        ledger_append(action=LedgerEntry.Action.LOGIN, actor_id=user.pk, account_id=account.id,
                      detail={"step": "sign_up"})
    return user
