"""Order numbers become a stored generated column derived from the id (one write,
no sequence or counter)."""

import django.db.models.functions.comparison
import django.db.models.functions.text
from django.db import migrations, models


def drop_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP SEQUENCE IF EXISTS orders_order_number_seq")


def create_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE SEQUENCE IF NOT EXISTS orders_order_number_seq")


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0002_ledger_append_only'),
        ('orders', '0002_order_number_sequence'),
    ]

    operations = [
        migrations.RunPython(drop_sequence, create_sequence),
        migrations.DeleteModel(
            name='OrderNumberCounter',
        ),
        migrations.RemoveField(model_name='order', name='number'),
        migrations.AddField(
            model_name='order',
            name='number',
            field=models.GeneratedField(db_persist=True, expression=django.db.models.functions.text.Concat(models.Value('OMS-'), django.db.models.functions.text.LPad(django.db.models.functions.comparison.Cast('id', models.CharField()), 8, models.Value('0'))), output_field=models.CharField(max_length=32)),
        ),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.UniqueConstraint(fields=('number',), name='order_number_unique'),
        ),
    ]
