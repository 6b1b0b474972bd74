import core.columns
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('core', '0004_cache_bumps_and_throttle_counters'),
    ]

    # The models moved here from core, their tables kept: only Django's record of them changes.
    operations = [migrations.SeparateDatabaseAndState(state_operations=[
        migrations.CreateModel(
            name='CacheBump',
            fields=[
                ('count', models.PositiveBigIntegerField(default=0)),
                ('namespace', models.CharField(max_length=32, primary_key=True, serialize=False)),
            ],
            options={
                'db_table': 'core_cachebump',
            },
        ),
        migrations.CreateModel(
            name='ThrottleCounter',
            fields=[
                ('count', models.PositiveBigIntegerField(default=0)),
                ('key', models.CharField(max_length=200, primary_key=True, serialize=False)),
                ('expires_at', models.DateTimeField(db_index=True)),
            ],
            options={
                'db_table': 'core_throttlecounter',
            },
        ),
        migrations.CreateModel(
            name='IdempotencyKey',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('scope', models.CharField(help_text='The operation the key belongs to.', max_length=64)),
                ('key', core.columns.ExactCharField(max_length=255)),
                ('fingerprint', models.CharField(help_text='SHA-256 of the canonical request body.', max_length=64)),
                ('response_status', models.PositiveSmallIntegerField()),
                ('response_body', models.JSONField()),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'core_idempotencykey',
                'constraints': [models.UniqueConstraint(fields=('user', 'scope', 'key'), name='idempotency_key_unique')],
            },
        ),
    ])]
