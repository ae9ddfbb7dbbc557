"""Orders refer to their order type's definition: every code orders carry (one
of the built-in flows, so far) gets a definition following that flow where the
seed did not make one, then the column becomes a foreign key to it."""

import django.db.models.deletion
from django.db import migrations, models


def define_used_types(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    OrderTypeDefinition = apps.get_model("orders", "OrderTypeDefinition")
    used = set(Order.objects.values_list("order_type", flat=True).distinct())
    defined = set(OrderTypeDefinition.objects.values_list("code", flat=True))
    OrderTypeDefinition.objects.bulk_create(
        OrderTypeDefinition(code=code, name=code.replace("_", " ").title(), flow=code)
        for code in sorted(used - defined)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0010_list_indexes_and_queue_snapshots"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="order",
            name="order_type_valid",
        ),
        migrations.AddField(
            model_name="ordertypedefinition",
            name="active",
            field=models.BooleanField(default=True),
        ),
        migrations.RunPython(define_used_types, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="order",
            name="order_type",
            field=models.ForeignKey(
                db_column="order_type",
                db_index=False,
                default="standard",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="orders",
                to="orders.ordertypedefinition",
                to_field="code",
            ),
        ),
    ]
