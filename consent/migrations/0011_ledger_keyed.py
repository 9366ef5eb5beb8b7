"""Ledger entries and chain heads carry an HMAC under LEDGER_KEY. Entries written before are sealed
here as they stand: their MAC vouches for their place and stored hash from now on, while their
content is still checked against that hash and their links against each other."""

import hashlib
import hmac

from django.conf import settings
from django.db import migrations, models

BATCH = 5000


def _mac(kind: str, chain: int, seq: int, digest: str) -> str:
    # The form consent.services.entry_mac and head_mac had when this migration was written.
    return hmac.new(settings.LEDGER_KEY, f"{kind}:{chain}:{seq}:{digest}".encode(), hashlib.sha256).hexdigest()


def seal(apps, schema_editor):
    entries = apps.get_model("consent", "LedgerEntry")
    heads = apps.get_model("consent", "LedgerHead")
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute("ALTER TABLE consent_ledgerentry DISABLE TRIGGER consent_ledger_append_only")
    batch = []
    for entry in entries.objects.only("id", "chain", "seq", "hash").order_by("id").iterator(chunk_size=BATCH):
        entry.mac = _mac("entry", entry.chain, entry.seq, entry.hash)
        batch.append(entry)
        if len(batch) == BATCH:
            entries.objects.bulk_update(batch, ["mac"])
            batch = []
    entries.objects.bulk_update(batch, ["mac"])
    if postgres:
        schema_editor.execute("ALTER TABLE consent_ledgerentry ENABLE TRIGGER consent_ledger_append_only")
    for head in heads.objects.all():
        head.mac = _mac("head", head.chain, head.seq, head.hash)
        head.save(update_fields=["mac"])


class Migration(migrations.Migration):

    dependencies = [
        ("consent", "0010_ledger_envelope_read"),
    ]

    operations = [
        migrations.AddField(
            model_name="ledgerentry",
            name="mac",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="ledgerhead",
            name="mac",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RunPython(seal, migrations.RunPython.noop),
    ]
