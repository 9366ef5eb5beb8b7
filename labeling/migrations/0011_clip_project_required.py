import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Apart from 0010 so that PostgreSQL alters the table after the clips were given a project."""

    dependencies = [
        ("labeling", "0010_projects_and_labels"),
    ]

    operations = [
        migrations.AlterField(
            model_name="clip",
            name="project",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="clips",
                                    to="labeling.project"),
        ),
    ]
