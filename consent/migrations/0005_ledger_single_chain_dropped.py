"""The ledger becomes several hash chains (0006) so that appends by different people do not wait for
each other. Written before any release: the single chain's entries are not carried over; 0006 puts
the append-only trigger back on the new table."""

from django.db import migrations

from consent.migrations import _ledger_trigger


class Migration(migrations.Migration):
    dependencies = [("consent", "0004_ledger_actor_index")]

    operations = [
        migrations.RunPython(_ledger_trigger.backward, _ledger_trigger.forward),
        migrations.DeleteModel(name="LedgerEntry"),
    ]
