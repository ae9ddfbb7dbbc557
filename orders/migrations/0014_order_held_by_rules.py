from django.db import migrations, models


def keep_rechecking_current_holds(apps, schema_editor):
    # Before this field every held order was re-checked; the holds already there
    # keep that, since their origin was not recorded.
    Order = apps.get_model("orders", "Order")
    Order.objects.filter(status="on_hold").update(held_by_rules=True)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0013_brokering_run_lease"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="held_by_rules",
            # A database default too: rows written by raw SQL (the bench seeder,
            # older code during a rolling deploy) need not name the column.
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RunPython(keep_rechecking_current_holds, migrations.RunPython.noop),
    ]
