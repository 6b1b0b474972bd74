from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("store_infra", "0001_initial"),
    ]

    # Read caches are versioned by model, no longer by namespace (the rows of the old namespaces are
    # read by nobody).
    operations = [
        migrations.RenameField(model_name="cachebump", old_name="namespace", new_name="model"),
        migrations.AlterField(
            model_name="cachebump",
            name="model",
            field=models.CharField(
                help_text="The model's label: stocks.stock.", max_length=100, primary_key=True, serialize=False
            ),
        ),
    ]
