import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('consent', '0009_link_codes'),
        ('labeling', '0011_clip_project_required'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='GoldClip',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reference_text', models.TextField()),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.CreateModel(
            name='GoldResult',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('word_error_rate', models.FloatField()),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.RemoveConstraint(
            model_name='assignment',
            name='one_open_assignment_per_annotator',
        ),
        migrations.RemoveConstraint(
            model_name='assignment',
            name='one_open_listening_per_supervisor_and_clip',
        ),
        migrations.RemoveConstraint(
            model_name='assignment',
            name='annotator_work_belongs_to_a_shift',
        ),
        migrations.AddField(
            model_name='secondopinion',
            name='kind',
            field=models.CharField(choices=[('asked', 'Asked'), ('agreement', 'Agreement')], db_default='asked', default='asked', max_length=16),
        ),
        migrations.AlterField(
            model_name='assignment',
            name='purpose',
            field=models.CharField(choices=[('transcription', 'transcription'), ('second_opinion', 'second opinion'), ('escalation_review', 'escalation review'), ('adjudication', 'adjudication'), ('gold', 'quality check'), ('agreement', 'second transcription'), ('quality_review', 'quality review')], db_default='transcription', default='transcription', max_length=20),
        ),
        migrations.AddConstraint(
            model_name='assignment',
            constraint=models.UniqueConstraint(condition=models.Q(('state', 'open'), models.Q(('purpose__in', ('escalation_review', 'adjudication', 'quality_review')), _negated=True)), fields=('annotator',), name='one_open_assignment_per_annotator'),
        ),
        migrations.AddConstraint(
            model_name='assignment',
            constraint=models.UniqueConstraint(condition=models.Q(('purpose__in', ('escalation_review', 'adjudication', 'quality_review')), ('state', 'open')), fields=('clip', 'annotator', 'purpose'), name='one_open_listening_per_supervisor_and_clip'),
        ),
        migrations.AddConstraint(
            model_name='assignment',
            constraint=models.CheckConstraint(condition=models.Q(('shift__isnull', False), ('purpose__in', ('escalation_review', 'adjudication', 'quality_review')), _connector='OR'), name='annotator_work_belongs_to_a_shift'),
        ),
        migrations.AddField(
            model_name='goldclip',
            name='clip',
            field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='gold', to='labeling.clip'),
        ),
        migrations.AddField(
            model_name='goldclip',
            name='created_by',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='goldclip',
            name='project',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='gold_clips', to='labeling.project'),
        ),
        migrations.AddField(
            model_name='goldresult',
            name='annotator',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='goldresult',
            name='assignment',
            field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='gold_result', to='labeling.assignment'),
        ),
        migrations.AddField(
            model_name='goldresult',
            name='gold',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='results', to='labeling.goldclip'),
        ),
        migrations.AddField(
            model_name='goldresult',
            name='project',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='labeling.project'),
        ),
        migrations.AddConstraint(
            model_name='goldclip',
            constraint=models.CheckConstraint(condition=models.Q(('reference_text', ''), _negated=True), name='gold_has_reference'),
        ),
        migrations.AddIndex(
            model_name='goldresult',
            index=models.Index(fields=['project', 'annotator', 'created_at'], name='gold_result_by_annotator'),
        ),
    ]
