from django.db import migrations, models


def create_gate_row(apps, schema_editor):
    apps.get_model("rds_tests", "DispatchGate").objects.get_or_create(name="dispatch")


class Migration(migrations.Migration):
    initial = True

    dependencies = []  # noqa: RUF012 (Django migration convention)

    operations = [  # noqa: RUF012
        migrations.CreateModel(
            name="DispatchGate",
            fields=[
                ("name", models.CharField(max_length=32, primary_key=True, serialize=False)),
            ],
            options={
                "default_permissions": (),
                "permissions": (("run_rds_connection_tests", "Can run RDS connection tests"),),
            },
        ),
        migrations.RunPython(create_gate_row, migrations.RunPython.noop),
    ]
