"""Check the access ledger's hash chain; exit 1 and name each entry that was altered, removed or reordered."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from consent.models import LedgerEntry
from consent.services import ledger_verify


class Command(BaseCommand):
    help = "Verify the access ledger's hash chain."

    def add_arguments(self, parser):
        parser.add_argument("--expect-head", metavar="SEQ:HASH",
                            help="a head printed by an earlier run and kept elsewhere: it must still be in the chain")

    def handle(self, *args, **options):
        report = ledger_verify()
        problems = [f"entry {p.seq}: {p.problem}" for p in report.problems]
        if options["expect_head"]:
            seq, _, expected = options["expect_head"].partition(":")
            if not seq.isdigit() or len(expected) != 64:
                raise CommandError("--expect-head takes SEQ:HASH as printed by verify_ledger")
            found = LedgerEntry.objects.filter(seq=int(seq)).values_list("hash", flat=True).first()
            if found is None:
                problems.append(f"entry {seq}: the expected head is gone (entries were removed from the end)")
            elif found != expected:
                problems.append(f"entry {seq}: differs from the expected head")
        if problems:
            raise CommandError("\n".join([f"ledger BROKEN: {len(problems)} problem(s) in {report.entries} entries",
                                          *problems]))
        self.stdout.write(f"ledger intact: {report.entries} entries; head {report.head_seq}:{report.head_hash}")
