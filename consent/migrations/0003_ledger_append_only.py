"""On PostgreSQL the database itself refuses to change or remove a ledger entry.

TRUNCATE is left to the table's owner (test databases are flushed with it); the application's
database role should not own the table in production.
"""

from django.db import migrations

from consent.migrations._ledger_trigger import backward, forward


class Migration(migrations.Migration):
    dependencies = [("consent", "0002_ledger")]
    operations = [migrations.RunPython(forward, backward)]
