import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0012_pending_step_runs"),
    ]

    operations = [
        migrations.AddField(
            model_name="brokeringrun",
            name="lease_expires_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now,
                help_text="A queued or running run still here after this is abandoned "
                "(its worker died); the running task extends it with every batch.",
            ),
            preserve_default=False,
        ),
    ]
