"""The registry of actions a workflow step can run, and the built-in ones.

An action is a small class: a `code`, a `label`, a DRF `Params` serializer that
validates the step's parameters when the step is saved, `run()` that does the work
for one order (inside a transaction that holds the order's row lock) and returns an
`Outcome`, and `describe()` that says what `run()` would do, for dry runs, without
any side effect. Register a new one with `@register`.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone
from rest_framework import serializers

from oms.models import WebhookSubscription
from oms.services.events import record_event
from orders.models import Order
from orders.workflows.models import StepResult

REGISTRY: dict[str, "Action"] = {}


@dataclass(frozen=True)
class Outcome:
    result: str
    message: str = ""

    @classmethod
    def success(cls, message: str = "") -> "Outcome":
        return cls(StepResult.SUCCESS, message)

    @classmethod
    def warning(cls, message: str) -> "Outcome":
        return cls(StepResult.WARNING, message)

    @classmethod
    def error(cls, message: str) -> "Outcome":
        return cls(StepResult.ERROR, message)


class Action:
    code = ""
    label = ""

    class Params(serializers.Serializer):
        pass

    def clean_params(self, params) -> tuple[dict, dict[str, list[str]]]:
        """(cleaned params, field errors) for a step's parameters."""
        serializer = self.Params(data=params if isinstance(params, dict) else None)
        if serializer.is_valid():
            return dict(serializer.validated_data), {}
        return {}, {
            f"params.{name}": [str(message) for message in messages]
            for name, messages in serializer.errors.items()
        }

    def run(self, *, order: Order, params: dict, actor=None) -> Outcome:
        raise NotImplementedError

    def describe(self, *, order: Order, params: dict) -> str:
        raise NotImplementedError


def register(action_class: type[Action]) -> type[Action]:
    REGISTRY[action_class.code] = action_class()
    return action_class


def action_for(code: str) -> Action | None:
    return REGISTRY.get(code)


def action_choices() -> list[tuple[str, str]]:
    return [(code, action.label) for code, action in sorted(REGISTRY.items())]


# Customer notifications ----------------------------------------------------------

NOTIFICATIONS = {
    "order_confirmation": "Your order {number} is confirmed",
    "shipping_notice": "Your order {number} is on its way",
    "ready_for_pickup": "Your order {number} is ready for pickup",
    "order_cancelled": "Your order {number} was cancelled",
}


@register
class NotifyCustomer(Action):
    """E-mail the customer with a template per notification (templates/workflows/
    email/<notification>.txt), through Django's configured e-mail backend."""

    code = "notify_customer"
    label = "Notify the customer by e-mail"

    class Params(serializers.Serializer):
        notification = serializers.ChoiceField(choices=sorted(NOTIFICATIONS))

    def _message(self, order: Order, params: dict) -> tuple[str, str]:
        notification = params["notification"]
        subject = NOTIFICATIONS[notification].format(number=order.number)
        body = render_to_string(f"workflows/email/{notification}.txt", {"order": order})
        return subject, body

    def run(self, *, order: Order, params: dict, actor=None) -> Outcome:
        if not order.customer_email:
            return Outcome.warning("The order has no customer e-mail address.")
        subject, body = self._message(order, params)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [order.customer_email])
        return Outcome.success(f"Sent “{subject}” to {order.customer_email}.")

    def describe(self, *, order: Order, params: dict) -> str:
        if not order.customer_email:
            return "Would warn: the order has no customer e-mail address."
        subject, _ = self._message(order, params)
        return f"Would e-mail “{subject}” to {order.customer_email}."


# Export to a connector -----------------------------------------------------------


def export_event_name(connector: str) -> str:
    """A connector is a webhook subscription to `order.exported.<connector>`: the
    export reaches it through the webhook outbox (signed, retried, logged)."""
    return f"order.exported.{connector}"


def connector_subscriptions(connector: str) -> list[WebhookSubscription]:
    name = export_event_name(connector)
    return [
        subscription
        for subscription in WebhookSubscription.objects.order_by("id")
        if name in subscription.event_patterns
    ]


def order_document(order: Order) -> dict:
    """The order as a connector receives it."""
    return {
        "number": order.number,
        "channel": order.channel.code,
        "external_id": order.external_id,
        "order_type": order.order_type_id,
        "status": order.status,
        "customer": {
            "name": order.customer_name,
            "email": order.customer_email,
            "phone": order.customer_phone,
        },
        "shipping_address": order.shipping_address,
        "shipping_method": order.shipping_method,
        "currency": order.currency,
        "shipping_price": order.shipping_price,
        "shipping_tax": order.shipping_tax,
        "discount": order.discount,
        "total": order.total,
        "tags": order.tags,
        "placed_at": order.placed_at,
        "lines": [
            {
                "line_id": line.pk,
                "sku": line.sku,
                "quantity": line.quantity,
                "quantity_fulfilled": line.quantity_fulfilled,
                "unit_price": line.unit_price,
                "discount": line.discount,
                "tax": line.tax,
            }
            for line in order.lines.all()
        ],
    }


@register
class ExportToConnector(Action):
    """Send the order to an external system (ERP, WMS): records
    `order.exported.<connector>`, which the webhook machinery delivers signed to the
    connector's subscription, with retries and a delivery log. A connector not
    set up yet, or inactive, is a warning, not an error."""

    code = "export_to_connector"
    label = "Export to a connector"

    class Params(serializers.Serializer):
        connector = serializers.SlugField(max_length=40)

    def _state(self, connector: str) -> tuple[str, list[WebhookSubscription]]:
        subscriptions = connector_subscriptions(connector)
        active = [s for s in subscriptions if s.active]
        if not subscriptions:
            return "missing", []
        return ("active", active) if active else ("inactive", subscriptions)

    def run(self, *, order: Order, params: dict, actor=None) -> Outcome:
        connector = params["connector"]
        state, subscriptions = self._state(connector)
        if state == "missing":
            return Outcome.warning(
                f"Connector “{connector}” is not set up (subscribe a webhook to "
                f"{export_event_name(connector)}); the order was not sent."
            )
        if state == "inactive":
            return Outcome.warning(
                f"Connector “{connector}” is inactive; the order was not sent."
            )
        event = record_event(export_event_name(connector), order, order_document(order))
        targets = ", ".join(s.url for s in subscriptions)
        return Outcome.success(f"Queued for {targets} (event {event.pk}).")

    def describe(self, *, order: Order, params: dict) -> str:
        connector = params["connector"]
        state, subscriptions = self._state(connector)
        if state == "missing":
            return f"Would warn: connector “{connector}” is not set up."
        if state == "inactive":
            return f"Would warn: connector “{connector}” is inactive."
        return "Would POST the order to " + ", ".join(s.url for s in subscriptions)


# Changes to the order ------------------------------------------------------------


class TagsParams(serializers.Serializer):
    tags = serializers.ListField(
        child=serializers.CharField(max_length=40), min_length=1, max_length=20
    )


@register
class AddTags(Action):
    code = "add_tags"
    label = "Add tags"
    Params = TagsParams

    def run(self, *, order: Order, params: dict, actor=None) -> Outcome:
        new = [tag for tag in params["tags"] if tag not in order.tags]
        if new:
            order.tags = [*order.tags, *new]
            order.save(update_fields=["tags", "updated_at"])
        return Outcome.success(f"Tags now: {', '.join(order.tags)}.")

    def describe(self, *, order: Order, params: dict) -> str:
        return f"Would add tags: {', '.join(params['tags'])}."


@register
class RemoveTags(Action):
    code = "remove_tags"
    label = "Remove tags"
    Params = TagsParams

    def run(self, *, order: Order, params: dict, actor=None) -> Outcome:
        kept = [tag for tag in order.tags if tag not in params["tags"]]
        if kept != order.tags:
            order.tags = kept
            order.save(update_fields=["tags", "updated_at"])
        return Outcome.success(f"Tags now: {', '.join(kept) or 'none'}.")

    def describe(self, *, order: Order, params: dict) -> str:
        return f"Would remove tags: {', '.join(params['tags'])}."


@register
class PutOnHold(Action):
    """Hold the order for review through its `hold` transition (`order.held`),
    which in turn runs the on-hold steps. Only a created or opened order can be
    held: anything else is an error."""

    code = "put_on_hold"
    label = "Put on hold"

    class Params(serializers.Serializer):
        reason = serializers.CharField(max_length=200)

    def run(self, *, order: Order, params: dict, actor=None) -> Outcome:
        from orders.services import order_hold_for_review

        if order.status not in (Order.Status.CREATED, Order.Status.OPENED):
            return Outcome.error(f"An order {order.status} cannot be put on hold.")
        order_hold_for_review(order=order, reason=params["reason"], actor=actor)
        return Outcome.success(f"Held: {params['reason']}")

    def describe(self, *, order: Order, params: dict) -> str:
        return f"Would put the order on hold: {params['reason']}"


SETTABLE_FIELDS = {
    "priority": serializers.IntegerField(min_value=0, max_value=9),
    "shipping_method": serializers.CharField(max_length=60),
}


class SetFieldParams(serializers.Serializer):
    field = serializers.ChoiceField(choices=sorted(SETTABLE_FIELDS))
    value = serializers.JSONField()

    def validate(self, attrs):
        field = SETTABLE_FIELDS[attrs["field"]]
        try:
            attrs["value"] = field.run_validation(attrs["value"])
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"value": exc.detail}) from exc
        return attrs


@register
class SetField(Action):
    """Set one field of the order, from an allow-list (`SETTABLE_FIELDS`)."""

    code = "set_field"
    label = "Set a field"
    Params = SetFieldParams

    def run(self, *, order: Order, params: dict, actor=None) -> Outcome:
        setattr(order, params["field"], params["value"])
        order.save(update_fields=[params["field"], "updated_at"])
        return Outcome.success(f"{params['field']} = {params['value']}.")

    def describe(self, *, order: Order, params: dict) -> str:
        current = getattr(order, params["field"])
        return f"Would set {params['field']} from {current!r} to {params['value']!r}."


@register
class RecordNote(Action):
    code = "record_note"
    label = "Record a note"

    class Params(serializers.Serializer):
        text = serializers.CharField(max_length=500)

    def run(self, *, order: Order, params: dict, actor=None) -> Outcome:
        stamp = timezone.now().strftime("%Y-%m-%d %H:%M")
        order.notes = "\n".join(
            filter(None, [order.notes, f"[{stamp}] {params['text']}"])
        )
        order.save(update_fields=["notes", "updated_at"])
        return Outcome.success("Note recorded.")

    def describe(self, *, order: Order, params: dict) -> str:
        return f"Would add the note: {params['text']}"


@register
class RunGroup(Action):
    """Runs the step's group (`WorkflowStep.runs_group`); the runner expands it."""

    code = "run_group"
    label = "Run a step group"

    def run(self, *, order: Order, params: dict, actor=None) -> Outcome:
        raise RuntimeError("The runner expands group steps itself.")

    def describe(self, *, order: Order, params: dict) -> str:
        return "Would run the group's steps."
