import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import labeling.models


def default_project(apps, schema_editor):
    """Every existing clip and every annotator and supervisor join the default project."""
    Project = apps.get_model("labeling", "Project")
    ProjectMember = apps.get_model("labeling", "ProjectMember")
    Clip = apps.get_model("labeling", "Clip")
    Group = apps.get_model("auth", "Group")
    project, _ = Project.objects.get_or_create(
        slug=settings.DEFAULT_PROJECT,
        defaults={"name": "Default project", "locale": "en", "flags": ["no_speech", "unintelligible", "not_directed"]})
    Clip.objects.filter(project__isnull=True).update(project=project)
    for role in ("annotator", "supervisor"):
        group = Group.objects.filter(name=role).first()
        for user_id in group.user_set.values_list("id", flat=True) if group else []:
            ProjectMember.objects.get_or_create(project=project, user_id=user_id, role=role)


class Migration(migrations.Migration):

    dependencies = [
        ('labeling', '0009_deletion'),
        ('auth', '0012_alter_user_first_name_max_length'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='assignment',
            name='draft',
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='assignment',
            name='draft_saved_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='transcript',
            name='entities',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='transcript',
            name='flags',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='transcript',
            name='intent',
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AlterField(
            model_name='transcript',
            name='text',
            field=models.TextField(blank=True),
        ),
        migrations.CreateModel(
            name='Project',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('slug', models.SlugField(help_text='Devices name the project by this in the metadata.', unique=True)),
                ('name', models.CharField(max_length=100)),
                ('locale', models.CharField(default='en', help_text='Language tag; clips in another language are refused at ingest.', max_length=16)),
                ('sample_rate', models.PositiveIntegerField(default=16000, help_text='Sample rate of exported audio (Hz).')),
                ('intents', models.JSONField(blank=True, default=list, help_text='Intent labels annotators choose from.')),
                ('entity_types', models.JSONField(blank=True, default=list, help_text='Entity types annotators tag spans with.')),
                ('flags', models.JSONField(blank=True, default=labeling.models.all_transcript_flags, help_text='Flags offered, of: no_speech, unintelligible, not_directed.')),
                ('clip_quota', models.PositiveIntegerField(blank=True, help_text='Clips the project takes for review; none: no limit.', null=True)),
                ('gold_share', models.FloatField(default=0.05, help_text='Share of served clips that are gold clips.')),
                ('agreement_share', models.FloatField(default=0.1, help_text='Share of clips transcribed twice, blind.')),
                ('agreement_max_difference', models.FloatField(default=0.2, help_text='Word error rate between the two readings above which a supervisor adjudicates.')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'constraints': [models.CheckConstraint(condition=models.Q(('sample_rate__in', (8000, 16000, 22050, 24000, 44100, 48000))), name='project_sample_rate_known'), models.CheckConstraint(condition=models.Q(('agreement_max_difference__gte', 0), ('agreement_share__gte', 0), ('agreement_share__lte', 1), ('gold_share__gte', 0), ('gold_share__lte', 1)), name='project_shares_sane')],
            },
        ),
        migrations.AddField(
            model_name='clip',
            name='project',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='clips', to='labeling.project'),
        ),
        migrations.CreateModel(
            name='ProjectMember',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('role', models.CharField(choices=[('annotator', 'Annotator'), ('supervisor', 'Supervisor')], default='annotator', max_length=16)),
                ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='members', to='labeling.project')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='project_memberships', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'indexes': [models.Index(fields=['user', 'role'], name='project_member_user_role')],
                'constraints': [models.UniqueConstraint(fields=('project', 'user', 'role'), name='one_membership_per_role')],
            },
        ),
        migrations.RunPython(default_project, migrations.RunPython.noop),
    ]
