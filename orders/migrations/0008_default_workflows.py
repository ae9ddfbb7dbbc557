"""Seed the order types of the product and the steps that reproduce its
lifecycle out of the box: an order confirmation when an order is taken in, a
shipping notice and an ERP export when a shipment leaves, a ready-for-pickup
notice, a cancellation notice.

The ERP connector is a webhook subscription to `order.exported.erp` that an admin
adds with the ERP's endpoint (Integrations → Webhooks); until then the export
step only warns, so a fresh install never piles up failing deliveries."""

from django.db import migrations

EVERY_STATUS = [
    "created",
    "opened",
    "on_hold",
    "in_fulfillment",
    "completed",
    "cancelled",
]
SHIPPING = [*EVERY_STATUS[:4], "shipped", *EVERY_STATUS[4:]]
PICKUP = [*EVERY_STATUS[:4], "ready_for_pickup", *EVERY_STATUS[4:]]

ORDER_TYPES = [
    ("standard", "Standard", SHIPPING),
    ("bopis", "Buy online, pick up in store", PICKUP),
    ("pre_order", "Pre-order", SHIPPING),
    ("backorder", "Backorder", SHIPPING),
    ("pos", "Point of sale", ["created", "completed"]),
    ("replacement", "Replacement", SHIPPING),
]


def notify(name, notification):
    return {
        "name": name,
        "action": "notify_customer",
        "params": {"notification": notification},
    }


CONFIRMATION = notify("Order confirmation", "order_confirmation")
CANCELLATION = notify("Cancellation notice", "order_cancelled")
SHIPPING_STEPS = {
    "created": [CONFIRMATION],
    "shipped": [
        notify("Shipping notice", "shipping_notice"),
        {
            "name": "Export to the ERP",
            "action": "export_to_connector",
            "params": {"connector": "erp"},
        },
    ],
    "cancelled": [CANCELLATION],
}
STEPS = {
    "standard": SHIPPING_STEPS,
    "pre_order": SHIPPING_STEPS,
    "backorder": SHIPPING_STEPS,
    "replacement": {"shipped": SHIPPING_STEPS["shipped"]},
    "bopis": {
        "created": [CONFIRMATION],
        "ready_for_pickup": [notify("Ready-for-pickup notice", "ready_for_pickup")],
        "cancelled": [CANCELLATION],
    },
    "pos": {},
}


def seed(apps, schema_editor):
    OrderTypeDefinition = apps.get_model("orders", "OrderTypeDefinition")
    WorkflowStep = apps.get_model("orders", "WorkflowStep")
    for code, name, stages in ORDER_TYPES:
        order_type, _ = OrderTypeDefinition.objects.get_or_create(
            code=code, defaults={"name": name, "flow": code, "stages": stages}
        )
        for stage, steps in STEPS[code].items():
            for position, step in enumerate(steps):
                WorkflowStep.objects.create(
                    order_type=order_type,
                    stage=stage,
                    position=position * 10,
                    timing="async",
                    **step,
                )


def unseed(apps, schema_editor):
    apps.get_model("orders", "WorkflowStep").objects.all().delete()
    apps.get_model("orders", "OrderTypeDefinition").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0007_workflows"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
