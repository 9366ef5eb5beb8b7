"""Assignment.plays counted the audio sent, not plays: it is called audio_sent now, and the play
starts the reviewer's page reports are counted beside it."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('labeling', '0017_assignment_closed_by_policy_change'),
    ]

    operations = [
        migrations.RenameField(model_name='assignment', old_name='plays', new_name='audio_sent'),
        migrations.AlterField(
            model_name='assignment',
            name='audio_sent',
            field=models.PositiveSmallIntegerField(db_default=0, default=0, help_text='Times the audio was sent.'),
        ),
        migrations.AddField(
            model_name='assignment',
            name='play_starts',
            field=models.PositiveIntegerField(db_default=0, default=0,
                                              help_text="Play starts the reviewer's page reported."),
        ),
        migrations.AddField(
            model_name='assignment',
            name='last_play_start_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
