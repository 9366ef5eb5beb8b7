"""The review policy moves into the database: its first version is the one the settings named
(REVIEW_POLICY_VERSION) with the text the owner's page showed, so consent given until now keeps
counting. A version that consent records name but the settings no longer did is kept too, published
before it, its text not kept. A published version's content is then refused any change by the database
itself (on PostgreSQL also its removal; TRUNCATE is left to the table's owner, as for the ledger)."""

from django.conf import settings
from django.db import migrations
from django.db.models import Min
from django.utils import timezone

FIRST_TEXT = (
    "With yes, recordings your devices make may be heard by trained reviewers, to improve speech recognition. "
    "Before anyone listens, silence is cut, names, numbers, email and street addresses you say are found by "
    "speech recognition and replaced by a tone, and your voice is disguised; a recording that cannot be processed "
    "this way is never heard. Detection is automatic and can miss something."
)
EARLIER_TEXT = "The text of this version was not kept when the policy moved into the database."

# What owners agreed to; who wrote it may go (created_by is set to null when their user is removed).
CONTENT = ("version", "text", "material", "number", "published_at")
POSTGRESQL_FORWARD = f"""
CREATE OR REPLACE FUNCTION consent_policy_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'a published policy version never changes: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER consent_policy_published_unchanged BEFORE UPDATE ON consent_policyversion FOR EACH ROW
    WHEN (OLD.number IS NOT NULL AND ({", ".join(f"NEW.{c}" for c in CONTENT)})
          IS DISTINCT FROM ({", ".join(f"OLD.{c}" for c in CONTENT)}))
    EXECUTE FUNCTION consent_policy_refuse_change();
CREATE TRIGGER consent_policy_published_kept BEFORE DELETE ON consent_policyversion FOR EACH ROW
    WHEN (OLD.number IS NOT NULL) EXECUTE FUNCTION consent_policy_refuse_change();
"""
POSTGRESQL_BACKWARD = """
DROP TRIGGER IF EXISTS consent_policy_published_unchanged ON consent_policyversion;
DROP TRIGGER IF EXISTS consent_policy_published_kept ON consent_policyversion;
DROP FUNCTION IF EXISTS consent_policy_refuse_change();
"""
# SQLite's flush (tests) deletes rows one table at a time, so only a change is refused there. Writing
# a row back unchanged (as tests restoring the database do) is no change.
SQLITE_FORWARD = f"""
CREATE TRIGGER consent_policy_published_unchanged BEFORE UPDATE ON consent_policyversion
    WHEN OLD.number IS NOT NULL AND ({" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in CONTENT)})
    BEGIN SELECT RAISE(ABORT, 'a published policy version never changes'); END;
"""
SQLITE_BACKWARD = "DROP TRIGGER IF EXISTS consent_policy_published_unchanged;"


def first_versions(apps, schema_editor):
    PolicyVersion = apps.get_model("consent", "PolicyVersion")
    ConsentRecord = apps.get_model("consent", "ConsentRecord")
    if PolicyVersion.objects.exists():
        return
    current = settings.REVIEW_POLICY_VERSION
    # Whole seconds: a row dumped and loaded back (serialized as JSON, to milliseconds) is then the same row.
    first_use = {name: at.replace(microsecond=0) for name, at in
                 ConsentRecord.objects.values_list("policy_version").annotate(first=Min("created_at"))}
    now = timezone.now().replace(microsecond=0)
    earlier = sorted((at, name) for name, at in first_use.items() if name != current)
    for number, (at, name) in enumerate(earlier, start=1):
        PolicyVersion.objects.create(version=name, text=EARLIER_TEXT, material=False, number=number,
                                     published_at=at, created_at=at)
    PolicyVersion.objects.create(version=current, text=FIRST_TEXT, material=False, number=len(earlier) + 1,
                                 published_at=first_use.get(current, now), created_at=first_use.get(current, now))


def trigger_forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_FORWARD, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_FORWARD, params=None)


def trigger_backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_BACKWARD, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("consent", "0012_policy_versions")]
    operations = [
        migrations.RunPython(first_versions, migrations.RunPython.noop),
        migrations.RunPython(trigger_forward, trigger_backward),
    ]
