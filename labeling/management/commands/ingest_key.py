"""Issue, list, rotate and revoke the device platforms' ingest keys from the command line."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core.errors import ApplicationError
from labeling.intake.services import (
    DEFAULT_OVERLAP_HOURS,
    MAX_OVERLAP_HOURS,
    ingest_key_create,
    ingest_key_revoke,
    ingest_key_rotate,
)
from labeling.selectors import ingest_keys_all


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"


class Command(BaseCommand):
    help = ("Manage the device platforms' ingest keys. The secret of a new key is printed once, on create and "
            "rotate; only its hash is kept. Every change is an entry in the access ledger, by the system.")

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="create|list|rotate|revoke")
        create = actions.add_parser("create", help="Issue a key for a device platform.")
        create.add_argument("--name", required=True, help="The device platform the key is for.")
        actions.add_parser("list", help="Every key with its state and when it was last used; never a secret.")
        rotate = actions.add_parser("rotate", help="Replace a key; the old one works for the overlap, then stops.")
        rotate.add_argument("id", type=int)
        rotate.add_argument("--overlap-hours", type=int, default=DEFAULT_OVERLAP_HOURS,
                            help=f"How long the old key keeps working, 0 to {MAX_OVERLAP_HOURS} "
                                 f"(default {DEFAULT_OVERLAP_HOURS}).")
        revoke = actions.add_parser("revoke", help="Stop a key at once.")
        revoke.add_argument("id", type=int)

    def handle(self, *args, action: str, **options) -> None:
        try:
            if action == "create":
                key, secret = ingest_key_create(name=options["name"])
                self._secret(key, secret)
            elif action == "rotate":
                key, secret = ingest_key_rotate(key_id=options["id"], overlap_hours=options["overlap_hours"])
                self._secret(key, secret)
                old = key.replaces
                self.stdout.write(f"Key {old.pk} ({old.prefix}) keeps working until {_when(old.expires_at)}.")
            elif action == "revoke":
                key = ingest_key_revoke(key_id=options["id"])
                self.stdout.write(f"Key {key.pk} ({key.prefix}) revoked at {_when(key.revoked_at)}.")
            else:
                self._list()
        except ApplicationError as exc:
            raise CommandError(exc.message) from None

    def _secret(self, key, secret: str) -> None:
        self.stdout.write(f"Key {key.pk} for {key.name} ({key.prefix}). Its secret, shown this once:\n"
                          f"{secret}\n"
                          f"Devices send it as 'Authorization: Api-Key <secret>'.")

    def _list(self) -> None:
        now = timezone.now()
        rows = [("id", "name", "prefix", "state", "created", "by", "last used", "expires", "revoked", "replaces")]
        for key in ingest_keys_all():
            rows.append((str(key.pk), key.name, key.prefix, key.state(now).value, _when(key.created_at),
                         key.created_by.get_username() if key.created_by else "system", _when(key.last_used_at),
                         _when(key.expires_at), _when(key.revoked_at), str(key.replaces_id or "-")))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip())
