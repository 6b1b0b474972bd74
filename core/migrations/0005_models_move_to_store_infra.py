from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_cache_bumps_and_throttle_counters"),
        ("store_infra", "0001_initial"),
    ]

    # The models moved to store_infra with their tables: only Django's record of them changes here.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(
                    name="CacheBump",
                ),
                migrations.RemoveField(
                    model_name="idempotencykey",
                    name="user",
                ),
                migrations.DeleteModel(
                    name="ThrottleCounter",
                ),
                migrations.DeleteModel(
                    name="IdempotencyKey",
                ),
            ]
        )
    ]
