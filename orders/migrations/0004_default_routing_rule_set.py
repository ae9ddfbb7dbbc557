"""A default rule set, so a new install routes orders out of the box: the brokering
and rejected queues, nearest complete location first, split only when needed, run
every five minutes by Celery beat."""

import json

from django.db import migrations

TASK = "routing.run_brokering"


def create_default(apps, schema_editor):
    RuleSet = apps.get_model("orders", "RoutingRuleSet")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    rule_set, created = RuleSet.objects.get_or_create(
        name="Default",
        defaults={
            "description": "Ship from the nearest location that has everything.",
            "queues": ["brokering", "rejected"],
            "location_types": [],
            "sort_criteria": ["fewest_splits", "distance", "priority"],
            "split_policy": "when_needed",
            "run_every_minutes": 5,
        },
    )
    if not created:
        return
    schedule, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    rule_set.periodic_task = PeriodicTask.objects.create(
        name=f"Brokering: rule set {rule_set.pk}",
        task=TASK,
        interval=schedule,
        kwargs=json.dumps({"rule_set_id": rule_set.pk}),
        enabled=True,
    )
    rule_set.save(update_fields=["periodic_task"])


def remove_default(apps, schema_editor):
    RuleSet = apps.get_model("orders", "RoutingRuleSet")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(task=TASK).delete()
    RuleSet.objects.filter(name="Default", runs__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_routing"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_default, remove_default)]
