"""Grace period, approval, hold and recheck, edits, POS."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from inventory import services as inventory_services
from inventory.models import StockLevel
from oms.models import Event
from orders import services
from orders.models import Order
from orders.tasks import (
    open_due_orders,
    reauthorize_expiring_payments,
    recheck_held_orders,
)
from payments.models import PaymentAccount, TestProviderOperation
from payments.services import (
    payment_capture,
    payment_transaction_attempt,
    payment_transactions_due,
)

pytestmark = pytest.mark.django_db


def events(order, name):
    return list(Event.objects.filter(entity_id=str(order.pk), name=name))


def grace_period_passes(order):
    Order.objects.filter(pk=order.pk).update(grace_period_ends_at=timezone.now())


def test_the_sweep_opens_orders_whose_grace_period_ended(place_order):
    due, not_due = place_order(), place_order()
    grace_period_passes(due)

    opened = open_due_orders.delay().get()

    due.refresh_from_db(), not_due.refresh_from_db()
    assert opened == 1
    assert (due.status, due.queue) == ("opened", "brokering")
    assert not_due.status == "created"
    assert events(due, "order.opened")[0].payload["queue"] == "brokering"


def test_pre_orders_wait_in_their_parking(opened_order):
    order = opened_order(order_type="pre_order", promise_date=timezone.now().date())

    assert (order.status, order.queue) == ("opened", "pre_order")


def test_an_order_above_the_value_limit_is_held_then_approved_on_recheck(
    channel, opened_order
):
    channel.order_value_limit = Decimal("50.00")
    channel.save()

    order = opened_order()

    assert order.status == "on_hold"
    assert order.queue == ""
    assert order.hold_reasons == ["Order value 55.00 is above the limit 50.00."]
    assert events(order, "order.held")

    channel.order_value_limit = Decimal("100.00")
    channel.save()
    assert recheck_held_orders.delay().get() == 1
    order.refresh_from_db()
    assert (order.status, order.queue, order.hold_reasons) == (
        "opened",
        "brokering",
        [],
    )


def test_a_held_order_brought_under_the_value_limit_by_a_cancellation_is_approved(
    channel, opened_order
):
    channel.order_value_limit = Decimal("50.00")
    channel.save()
    order = opened_order()  # 55.00
    line_a = order.lines.get(sku="SKU-A")

    services.order_lines_cancel(
        order=order, quantities={line_a.pk: 1}, actor=None, reason="Customer asked"
    )

    assert recheck_held_orders.delay().get() == 1
    order.refresh_from_db()
    assert (order.status, order.total) == ("opened", Decimal("55.00"))


def test_a_held_order_still_above_the_limit_after_a_cancellation_names_its_value(
    channel, opened_order
):
    channel.order_value_limit = Decimal("40.00")
    channel.save()
    order = opened_order()
    line_a = order.lines.get(sku="SKU-A")
    services.order_lines_cancel(
        order=order, quantities={line_a.pk: 1}, actor=None, reason="Customer asked"
    )
    order.refresh_from_db()

    assert services.approval_failures(
        order=order, account=services.order_account(order)
    ) == ["Order value 44.00 is above the limit 40.00."]


def test_blocked_domains_and_fraud_scores_hold_the_order(channel, opened_order):
    channel.blocked_domains = ["fraud.example"]
    channel.fraud_score_limit = Decimal("80")
    channel.save()

    order = opened_order(customer_email="x@FRAUD.example", fraud_score=Decimal("91.5"))

    assert order.status == "on_hold"
    assert len(order.hold_reasons) == 2


def test_a_transient_authorization_failure_holds_the_order_until_the_retry_succeeds(
    opened_order,
):
    order = opened_order(payment_token="tok_fail_once")
    assert order.status == "on_hold"
    assert order.hold_reasons == ["Payment is not authorized yet."]

    later = timezone.now() + timedelta(hours=1)
    for transaction_id in payment_transactions_due(now=later):
        payment_transaction_attempt(transaction_id=transaction_id, now=later)
    recheck_held_orders.delay().get()

    order.refresh_from_db()
    assert order.status == "opened"


def test_a_csr_approves_a_held_order_with_a_comment(
    channel, opened_order, api_client_for
):
    channel.order_value_limit = Decimal("1.00")
    channel.save()
    order = opened_order()
    csr = api_client_for("csr")

    refused = csr.post(f"/api/v1/orders/{order.number}/approve", {}, format="json")
    approved = csr.post(
        f"/api/v1/orders/{order.number}/approve",
        {"comment": "Known customer, called back."},
        format="json",
    )
    again = csr.post(
        f"/api/v1/orders/{order.number}/approve", {"comment": "twice"}, format="json"
    )

    assert refused.status_code == 400
    assert approved.status_code == 200
    assert approved.json()["status"] == "opened"
    assert again.status_code == 409
    timeline = csr.get(f"/api/v1/orders/{order.number}/timeline").json()
    assert any(
        item.get("reason") == "Known customer, called back." for item in timeline
    )


def test_an_order_is_editable_during_its_grace_period_only(place_order, api_client_for):
    order = place_order()
    csr = api_client_for("csr")

    edited = csr.patch(
        f"/api/v1/orders/{order.number}",
        {"shipping_address": {"address_line1": "2 New Street", "city": "Leeds"}},
        format="json",
    )
    grace_period_passes(order)
    late = csr.patch(f"/api/v1/orders/{order.number}", {"notes": "late"}, format="json")

    assert edited.status_code == 200
    assert edited.json()["shipping_address"]["city"] == "Leeds"
    assert late.status_code == 409
    assert late.json()["type"] == "grace_period_over"


def test_an_edit_is_recorded_with_its_total_in_the_minor_unit(
    place_order, api_client_for
):
    order = place_order()

    api_client_for("csr").patch(
        f"/api/v1/orders/{order.number}", {"notes": "Leave at the door"}, format="json"
    )

    payload = Event.objects.get(name="order.updated", entity_id=str(order.pk)).payload
    assert payload["total"] == "55.00"
    assert payload["fields"] == ["notes"]
    assert payload["by"].startswith("csr-")


def test_editing_lines_authorizes_the_new_total(place_order, api_client_for):
    order = place_order()

    response = api_client_for("csr").patch(
        f"/api/v1/orders/{order.number}",
        {
            "lines": [
                {"sku": "SKU-C", "quantity": 3, "unit_price": "30.00", "tax": "9.00"}
            ]
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert Decimal(response.json()["total"]) == Decimal("104.50")
    account = services.order_account(order)
    assert account.authorized_amount - account.voided_amount == Decimal("104.50")


@pytest.mark.parametrize("change", ["cancel-items", "swap-items"])
def test_lines_cancelled_or_swapped_can_no_longer_be_replaced_by_an_edit(
    place_order, api_client_for, change
):
    order = place_order()
    csr = api_client_for("csr")
    line_a = order.lines.get(sku="SKU-A")
    bodies = {
        "cancel-items": {"items": [{"line_id": line_a.pk, "quantity": 1}]},
        "swap-items": {"line_id": line_a.pk, "new_sku": "SKU-C", "quantity": 2},
    }
    done = csr.post(
        f"/api/v1/orders/{order.number}/{change}",
        {"reason": "Customer asked", **bodies[change]},
        format="json",
    )
    assert done.status_code == 200, done.json()
    account = services.order_account(order)
    held_before = account.authorized_amount - account.voided_amount

    response = csr.patch(
        f"/api/v1/orders/{order.number}",
        {"lines": [{"sku": "SKU-A", "quantity": 2, "unit_price": "10.00"}]},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["type"] == "order_not_changeable"
    account.refresh_from_db()
    assert account.authorized_amount - account.voided_amount == held_before
    assert order.lines.filter(quantity_cancelled__gt=0).exists()


def test_dearer_lines_whose_authorization_is_unconfirmed_are_refused(
    place_order, api_client_for
):
    order = place_order()
    account = services.order_account(order)
    # The gateway times out on the first two attempts of each key.
    PaymentAccount.objects.filter(pk=account.pk).update(payment_token="tok_timeout")

    response = api_client_for("csr").patch(
        f"/api/v1/orders/{order.number}",
        {"lines": [{"sku": "SKU-C", "quantity": 3, "unit_price": "30.00"}]},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["type"] == "authorization_unconfirmed"
    order.refresh_from_db()
    assert order.total == Decimal("55.00")
    assert sorted(order.lines.values_list("sku", flat=True)) == ["SKU-A", "SKU-B"]
    assert services.order_account(order).authorized_amount == Decimal("55.00")


def test_a_pos_order_is_captured_taken_from_stock_and_completed(place_order, store):
    product = inventory_services.product_create(sku="SKU-POS", name="Till item")
    inventory_services.adjustment_create(
        location=store, product=product, quantity=5, reason="found"
    )

    order = place_order(
        order_type="pos",
        pickup_location=store.code,
        shipping_price=Decimal("0"),
        shipping_tax=Decimal("0"),
        lines=[
            services_line("SKU-POS", 2, "4.00"),
        ],
    )

    assert order.status == "completed"
    assert order.lines.get().quantity_fulfilled == 2
    account = services.order_account(order)
    assert account.captured_amount == Decimal("8.00")
    assert StockLevel.objects.get(location=store, product=product).on_hand == 3
    assert events(order, "order.completed")


def services_line(sku, quantity, price):
    from orders.intake import LineInput

    return LineInput(sku=sku, quantity=quantity, unit_price=Decimal(price))


def test_a_failed_reauthorization_puts_the_order_on_hold(opened_order):
    order = opened_order()
    account = services.order_account(order)
    # The authorization is about to lapse and the card no longer works.
    PaymentAccount.objects.filter(pk=account.pk).update(
        authorization_expires_at=timezone.now() + timedelta(hours=2),
        payment_token="tok_decline",
    )

    assert reauthorize_expiring_payments.delay().get() == 1

    order.refresh_from_db()
    assert (order.status, order.queue) == ("on_hold", "")
    assert "Re-authorization" in order.hold_reasons[0]
    # The old authorization has not lapsed yet, so the approval rules still pass:
    # the re-check must leave this hold to a CSR all the same.
    assert recheck_held_orders.delay().get() == 0
    order.refresh_from_db()
    assert order.status == "on_hold"


def test_a_declined_reauthorization_holds_the_order_once_however_often_it_runs(
    opened_order,
):
    order = opened_order()
    PaymentAccount.objects.filter(pk=services.order_account(order).pk).update(
        authorization_expires_at=timezone.now() + timedelta(hours=2),
        payment_token="tok_decline",
    )

    for _ in range(3):
        reauthorize_expiring_payments.delay().get()

    order.refresh_from_db()
    assert len(order.hold_reasons) == 1
    assert len(events(order, "order.held")) == 1


def test_an_account_with_its_remainder_being_captured_does_not_stop_the_sweep(
    opened_order,
):
    capturing, other = opened_order(), opened_order()
    account = services.order_account(capturing)
    PaymentAccount.objects.filter(pk=account.pk).update(payment_token="tok_timeout")
    [pending] = payment_capture(
        account=account, amount=Decimal("55.00"), idempotency_key="ship-1"
    )
    assert pending.status == "pending"
    PaymentAccount.objects.update(
        authorization_expires_at=timezone.now() + timedelta(hours=2)
    )

    assert reauthorize_expiring_payments.delay().get() == 1

    renewed = services.order_account(other)
    assert renewed.authorization_expires_at > timezone.now() + timedelta(days=1)


def test_a_renewal_whose_old_hold_the_gateway_refuses_to_release_leaves_the_order(
    opened_order,
):
    order = opened_order()
    account = services.order_account(order)
    [first] = account.transactions.filter(kind="authorize")
    # The old hold lapsed at the gateway before the sweep renewed it.
    TestProviderOperation.objects.filter(
        operation="authorize", provider_reference=first.provider_reference
    ).delete()
    PaymentAccount.objects.filter(pk=account.pk).update(
        authorization_expires_at=timezone.now() + timedelta(hours=2)
    )

    assert reauthorize_expiring_payments.delay().get() == 1

    renewed = services.order_account(order)
    release = renewed.transactions.get(kind="void")
    assert (release.authorization, release.status) == (first, "failed")
    assert (renewed.authorized_amount, renewed.voided_amount) == (
        2 * first.amount,
        first.amount,
    )
    assert renewed.uncaptured_amount == first.amount
    order.refresh_from_db()
    assert (order.status, order.hold_reasons) == ("opened", [])
    assert not events(order, "order.held")


def hold_for_review(order, reason):
    """As a workflow step does: under the order's lock, in a transaction."""
    with transaction.atomic():
        services.order_hold_for_review(
            order=services.lock_order(order_id=order.pk), reason=reason, actor=None
        )


def test_the_recheck_leaves_a_hold_for_review_to_a_csr(opened_order):
    order = opened_order()
    hold_for_review(order, "Address looks odd")

    assert recheck_held_orders.delay().get() == 0

    order.refresh_from_db()
    assert (order.status, order.hold_reasons) == ("on_hold", ["Address looks odd"])


def test_a_review_reason_on_a_rules_hold_keeps_it_for_a_csr(channel, opened_order):
    channel.order_value_limit = Decimal("50.00")
    channel.save()
    order = opened_order()
    hold_for_review(order, "Call the customer")
    channel.order_value_limit = None
    channel.save()

    assert recheck_held_orders.delay().get() == 0
    order.refresh_from_db()
    assert order.status == "on_hold"


def test_the_recheck_reaches_every_held_order_not_only_the_newest(
    channel, opened_order
):
    channel.blocked_domains = ["fraud.example"]
    channel.order_value_limit = Decimal("50.00")
    channel.save()
    oldest = opened_order()
    # Newer holds that never pass by themselves fill the first batch.
    for n in range(2):
        opened_order(customer_email=f"x{n}@fraud.example")
    channel.order_value_limit = Decimal("100.00")
    channel.save()

    assert services.orders_recheck_on_hold(batch=1) == 1

    oldest.refresh_from_db()
    assert oldest.status == "opened"


def test_a_number_with_a_nul_byte_is_simply_not_found(api_client_for):
    response = api_client_for("csr").get("/api/v1/orders/OMS%00")
    assert response.status_code == 404
    assert response.json()["type"] == "order_not_found"
