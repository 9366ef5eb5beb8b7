from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('consent', '0009_link_codes'),
        ('labeling', '0013_exports'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='assignment',
            name='one_open_assignment_per_annotator',
        ),
        migrations.AddField(
            model_name='assignment',
            name='standby',
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AddConstraint(
            model_name='assignment',
            constraint=models.UniqueConstraint(condition=models.Q(('standby', False), ('state', 'open'), models.Q(('purpose__in', ('escalation_review', 'adjudication', 'quality_review')), _negated=True)), fields=('annotator',), name='one_open_assignment_per_annotator'),
        ),
        migrations.AddConstraint(
            model_name='assignment',
            constraint=models.UniqueConstraint(condition=models.Q(('standby', True), ('state', 'open')), fields=('annotator',), name='one_standby_per_annotator'),
        ),
    ]
