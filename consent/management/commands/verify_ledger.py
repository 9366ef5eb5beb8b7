"""Check the access ledger's hash chains; exit 1 and name each entry that was altered, removed or reordered."""

from __future__ import annotations

import re

from django.core.management.base import BaseCommand, CommandError

from consent.models import LedgerEntry
from consent.services import ledger_verify

HEAD = re.compile(r"^(\d+):(\d+):([0-9a-f]{64})$")


class Command(BaseCommand):
    help = "Verify the access ledger's hash chains."

    def add_arguments(self, parser):
        parser.add_argument("--expect-head", metavar="CHAIN:SEQ:HASH[,...]",
                            help="heads printed by an earlier run and kept elsewhere: each must still be in its chain")

    def handle(self, *args, **options):
        report = ledger_verify()
        problems = [f"chain {p.chain} entry {p.seq}: {p.problem}" for p in report.problems]
        for head in filter(None, (options["expect_head"] or "").split(",")):
            match = HEAD.match(head.strip())
            if match is None:
                raise CommandError("--expect-head takes CHAIN:SEQ:HASH[,...] as printed by verify_ledger")
            chain, seq, expected = int(match[1]), int(match[2]), match[3]
            found = LedgerEntry.objects.filter(chain=chain, seq=seq).values_list("hash", flat=True).first()
            if found is None:
                problems.append(f"chain {chain} entry {seq}: the expected head is gone "
                                "(entries were removed from the end)")
            elif found != expected:
                problems.append(f"chain {chain} entry {seq}: differs from the expected head")
        if problems:
            raise CommandError("\n".join([f"ledger BROKEN: {len(problems)} problem(s) in {report.entries} entries",
                                          *problems]))
        heads = ",".join(f"{chain}:{seq}:{digest}" for chain, (seq, digest) in sorted(report.heads.items()))
        self.stdout.write(f"ledger intact: {report.entries} entries in {len(report.heads)} chains; heads {heads}")
