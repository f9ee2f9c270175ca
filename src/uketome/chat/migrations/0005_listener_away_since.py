from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0004_listener_message_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="listener_away_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="conversation",
            name="taken_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
