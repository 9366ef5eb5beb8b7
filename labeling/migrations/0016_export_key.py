from pathlib import Path

from django.conf import settings
from django.db import migrations, models


def expire_clear_exports(apps, schema_editor):
    """Exports written before they were encrypted go: their files are removed, the jobs say why."""
    ExportJob = apps.get_model("labeling", "ExportJob")
    done = ExportJob.objects.filter(state="done")
    for export_id in done.values_list("id", flat=True):
        (Path(settings.MEDIA_ROOT) / "exports" / f"{export_id}.zip").unlink(missing_ok=True)
    done.update(state="expired", error="Removed when exports became encrypted; request a new export.")


class Migration(migrations.Migration):

    dependencies = [
        ("labeling", "0015_clip_processing_task"),
    ]

    operations = [
        migrations.AddField(
            model_name="exportjob",
            name="wrapped_key",
            field=models.BinaryField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(expire_clear_exports, migrations.RunPython.noop),
    ]
