"""The order pages against what happens in a real back office: a form sent twice,
a page left open while someone else changes the order, odd text in a form, a filter
that cannot be read. Each answer is a message or a clear page, never a 500, and
nothing is changed twice or over someone else's change."""

import re
from decimal import Decimal

import pytest
from django.test import Client

from oms.models import Event
from orders import services
from orders.intake import LineInput
from orders.models import Order
from tests.orders.test_pages import edit_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def csr(make_user):
    return make_user("csr")


@pytest.fixture
def page(csr):
    """A CSR's browser: a server error comes back as a 500 page, not an exception."""
    client = Client(raise_request_exception=False)
    client.force_login(csr)
    return client


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def hidden_version(response) -> str:
    return re.search(r'name="version" value="([0-9a-f]+)"', response.content.decode())[
        1
    ]


def preview_cancel_items(page, order, quantities, reason="Customer asked"):
    data = {"reason": reason} | {f"qty-{pk}": str(n) for pk, n in quantities.items()}
    return page.post(f"/backoffice/orders/{order.number}/cancel-items/", data)


def confirm_cancel_items(page, order, quantities, version, reason="Customer asked"):
    data = {"reason": reason, "confirmed": "yes", "version": version}
    data |= {f"qty-{pk}": str(n) for pk, n in quantities.items()}
    return page.post(
        f"/backoffice/orders/{order.number}/cancel-items/", data, follow=True
    )


# A form sent twice, a preview gone stale ----------------------------------------------


def test_a_cancellation_confirmed_twice_cancels_once(page, opened_order):
    order = opened_order()
    line = order.lines.get(sku="SKU-A")  # 2 units
    preview = preview_cancel_items(page, order, {line.pk: 1})
    assert "11.00 USD will go back" in text_of(preview)
    version = hidden_version(preview)

    confirm_cancel_items(page, order, {line.pk: 1}, version)
    second = confirm_cancel_items(page, order, {line.pk: 1}, version)

    line.refresh_from_db()
    assert (line.quantity_cancelled, line.credited_amount) == (1, Decimal("11.00"))
    assert "has changed since you looked at it" in text_of(second)


def test_a_stale_preview_is_refused_and_nothing_moves(page, opened_order):
    """CSR 1 previews one unit (11.00 back); meanwhile CSR 2 cancels the rest. CSR 1's
    confirmation would now cancel the whole order and give back 16.50: refused."""
    order = opened_order()
    a, b = order.lines.get(sku="SKU-A"), order.lines.get(sku="SKU-B")
    version = hidden_version(preview_cancel_items(page, order, {a.pk: 1}))
    services.order_lines_cancel(
        order=order, quantities={a.pk: 1, b.pk: 1}, actor=None, reason="Other CSR"
    )

    answer = confirm_cancel_items(page, order, {a.pk: 1}, version)

    assert "has changed since you looked at it" in text_of(answer)
    assert not Event.objects.filter(payload__reason="Customer asked").exists()
    order.refresh_from_db()
    assert order.status == Order.Status.OPENED


def test_routing_placing_the_units_does_not_make_a_preview_stale(page, opened_order):
    order = opened_order()
    line = order.lines.get(sku="SKU-A")
    version = hidden_version(preview_cancel_items(page, order, {line.pk: 1}))
    line.quantity_open, line.quantity_allocated = 0, 2  # a location took them
    line.save(update_fields=["quantity_open", "quantity_allocated"])

    confirm_cancel_items(page, order, {line.pk: 1}, version)

    line.refresh_from_db()
    assert line.quantity_cancelled == 1


def test_a_swap_confirmed_twice_swaps_once(page, opened_order):
    order = opened_order()
    line = order.lines.get(sku="SKU-A")
    swap = {
        "line_id": line.pk,
        "quantity": "1",
        "new_sku": "SKU-C",
        "new_unit_price": "",
        "reason": "Wrong size",
    }
    preview = page.post(f"/backoffice/orders/{order.number}/swap/", swap)
    confirmed = swap | {"confirmed": "yes", "version": hidden_version(preview)}

    page.post(f"/backoffice/orders/{order.number}/swap/", confirmed)
    second = page.post(
        f"/backoffice/orders/{order.number}/swap/", confirmed, follow=True
    )

    line.refresh_from_db()
    assert order.lines.filter(sku="SKU-C").count() == 1
    assert line.quantity_cancelled == 1
    assert "has changed since you looked at it" in text_of(second)


def test_a_whole_cancellation_from_a_stale_page_is_refused(page, opened_order):
    order = opened_order()
    detail = page.get(f"/backoffice/orders/{order.number}/")
    a = order.lines.get(sku="SKU-A")
    services.order_lines_cancel(
        order=order, quantities={a.pk: 1}, actor=None, reason="Other CSR"
    )

    answer = page.post(
        f"/backoffice/orders/{order.number}/cancel/",
        {"reason": "Gave up", "version": hidden_version(detail)},
        follow=True,
    )

    assert "has changed since you looked at it" in text_of(answer)
    order.refresh_from_db()
    assert order.status == Order.Status.OPENED


def test_a_stale_edit_page_does_not_undo_another_csrs_change(page, place_order):
    """CSR 1 opens the edit page; CSR 2 then raises SKU-A to 3 units and fixes the
    e-mail. CSR 1's save from the old page is refused, and the edit page shows the
    order as it is now."""
    order = place_order()
    opened = page.get(f"/backoffice/orders/{order.number}/edit/")
    stale = edit_form(order, notes="Leave at the door") | {
        "version": hidden_version(opened)
    }
    services.order_update(
        order=order,
        actor=None,
        customer_email="ada.king@example.com",
        lines=[
            LineInput(
                sku="SKU-A",
                quantity=3,
                unit_price=Decimal("10.00"),
                tax=Decimal("3.00"),
            ),
            LineInput(
                sku="SKU-B",
                quantity=1,
                unit_price=Decimal("25.00"),
                tax=Decimal("2.50"),
            ),
        ],
    )

    answer = page.post(f"/backoffice/orders/{order.number}/edit/", stale, follow=True)

    order.refresh_from_db()
    assert order.customer_email == "ada.king@example.com"
    assert order.lines.get(sku="SKU-A").quantity == 3
    assert order.notes == ""
    assert "has changed since you looked at it" in text_of(answer)
    assert 'value="ada.king@example.com"' in answer.content.decode()


def test_an_edit_from_a_fresh_page_goes_through(page, place_order):
    order = place_order()
    opened = page.get(f"/backoffice/orders/{order.number}/edit/")
    form = edit_form(order, notes="Leave at the door") | {
        "version": hidden_version(opened)
    }

    page.post(f"/backoffice/orders/{order.number}/edit/", form)

    order.refresh_from_db()
    assert order.notes == "Leave at the door"


# What the page promises --------------------------------------------------------------


def test_the_bulk_cancel_result_says_what_this_cancellation_gave_back(
    page, opened_order, django_capture_on_commit_callbacks
):
    """One SKU-A unit (11.00) was cancelled earlier: the bulk cancel gives back the
    remaining 44.00, in its dry run and in its real run."""
    order = opened_order()
    services.order_lines_cancel(
        order=order,
        quantities={order.lines.get(sku="SKU-A").pk: 1},
        actor=None,
        reason="Earlier",
    )
    pages = {}
    for mode in ("dry_run", "run"):
        with django_capture_on_commit_callbacks(execute=True):
            started = page.post(
                "/backoffice/orders/bulk/",
                {
                    "action": "cancel",
                    "orders": [order.number],
                    "mode": mode,
                    "text": "Duplicate",
                },
            )
        pages[mode] = text_of(page.get(started["Location"]))

    assert "credit 44.00 USD" in pages["dry_run"]
    assert "Cancelled; 44.00 USD credited" in pages["run"]


def test_a_pending_payment_offers_only_the_whole_cancellation_and_promises_nothing(
    page, place_order, settings
):
    """The provider timed out: no money is held. Cancelling units would only be
    refused, so the page does not offer it; cancelling the whole order gives up the
    authorization and gives back nothing, and its confirmation says so."""
    settings.OMS_PAYMENT_RETRY_BACKOFF_SECONDS = [0, 0, 0, 0, 0]
    order = place_order(payment_token="tok_timeout")
    line = order.lines.get(sku="SKU-A")

    detail = page.get(f"/backoffice/orders/{order.number}/").content.decode()

    assert f'name="qty-{line.pk}"' not in detail
    assert 'data-testid="units-wait-for-payment"' in detail
    promised = re.search(r"customer gets back ([\d.]+) USD", detail)[1]
    page.post(
        f"/backoffice/orders/{order.number}/cancel/",
        {"reason": "Gave up", "version": hidden_version(page.get(order_url(order)))},
    )
    event = Event.objects.get(name="order.cancelled", entity_id=str(order.pk))
    moved = Decimal(event.payload["amount_voided"]) + Decimal(
        event.payload["amount_refunded"]
    )
    assert Decimal(promised) == moved == 0


def test_the_cancel_confirmation_promises_what_the_cancellation_gives_back(
    page, opened_order
):
    order = opened_order()
    services.order_lines_cancel(
        order=order,
        quantities={order.lines.get(sku="SKU-A").pk: 1},
        actor=None,
        reason="Earlier",
    )
    detail = page.get(order_url(order))
    promised = re.search(r"customer gets back ([\d.]+) USD", detail.content.decode())[1]

    page.post(
        f"/backoffice/orders/{order.number}/cancel/",
        {"reason": "Gave up", "version": hidden_version(detail)},
    )

    event = Event.objects.get(name="order.cancelled", entity_id=str(order.pk))
    moved = Decimal(event.payload["amount_voided"]) + Decimal(
        event.payload["amount_refunded"]
    )
    assert Decimal(promised) == moved == Decimal("44.00")


def order_url(order) -> str:
    return f"/backoffice/orders/{order.number}/"


def test_the_timeline_says_who_cancelled_and_swapped_items(page, csr, opened_order):
    order = opened_order()
    a = order.lines.get(sku="SKU-A")
    version = hidden_version(preview_cancel_items(page, order, {a.pk: 1}))
    confirm_cancel_items(page, order, {a.pk: 1}, version)
    swap = {
        "line_id": a.pk,
        "quantity": "1",
        "new_sku": "SKU-C",
        "new_unit_price": "",
        "reason": "Wrong size",
    }
    preview = page.post(f"/backoffice/orders/{order.number}/swap/", swap)
    page.post(
        f"/backoffice/orders/{order.number}/swap/",
        swap | {"confirmed": "yes", "version": hidden_version(preview)},
    )

    html = page.get(order_url(order)).content.decode()
    timeline = html[html.index('id="timeline-title"') :]
    rows = {
        name: row
        for row in re.findall(r"<tr>(.*?)</tr>", timeline, re.S)
        for name in ("order.items_cancelled", "order.items_swapped")
        if name in row
    }
    assert set(rows) == {"order.items_cancelled", "order.items_swapped"}
    assert all(csr.get_username() in row for row in rows.values())


# Odd input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/backoffice/orders/", "/backoffice/orders/export.csv"]
)
@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_a_date_range_at_the_ends_of_the_calendar_is_read(page, opened_order, url, day):
    order = opened_order()

    response = page.get(url, {"placed_to": day, "placed_from": "0001-01-01"})

    assert response.status_code == 200
    body = (
        b"".join(response.streaming_content) if response.streaming else response.content
    ).decode()
    assert (order.number in body) == (day == "9999-12-31")


@pytest.mark.parametrize(
    "query, message",
    [
        ({"placed_from": "2024-13-45"}, "Enter a valid date"),
        ({"status": "shipped"}, "Select a valid choice"),
    ],
)
def test_a_filter_that_cannot_be_read_is_said_and_lists_nothing(
    page, opened_order, query, message
):
    order = opened_order()

    response = page.get("/backoffice/orders/", query)

    assert message in text_of(response)
    assert order.number not in text_of(response)
    export = page.get("/backoffice/orders/export.csv", query)
    assert export.status_code == 302
    assert export["Location"].startswith("/backoffice/orders/?")


@pytest.mark.parametrize(
    "path, data",
    [
        ("bulk", {"action": "cancel", "orders": ["OMS-1\x00"]}),
        ("cancel", {"reason": "dup\x00"}),
        ("cancel-items", {"reason": "dup\x00", "confirmed": "yes"}),
        ("approve", {"comment": "ok\x00"}),
    ],
)
def test_a_nul_character_in_a_form_is_refused_and_changes_nothing(
    page, opened_order, path, data
):
    order = opened_order()
    data = data | {f"qty-{order.lines.get(sku='SKU-A').pk}": "1"}
    url = (
        "/backoffice/orders/bulk/"
        if path == "bulk"
        else f"/backoffice/orders/{order.number}/{path}/"
    )

    response = page.post(url, data)

    assert response.status_code == 400
    assert "Nothing was changed" in text_of(response)
    order.refresh_from_db()
    assert order.status == Order.Status.OPENED
    assert not order.lines.filter(quantity_cancelled__gt=0).exists()


@pytest.mark.parametrize("confirmed", ["", "yes"])
def test_a_swap_to_an_absurd_price_is_a_message(page, opened_order, confirmed):
    order = opened_order()
    line = order.lines.get(sku="SKU-A")

    response = page.post(
        f"/backoffice/orders/{order.number}/swap/",
        {
            "line_id": line.pk,
            "quantity": "1",
            "new_sku": "SKU-C",
            "new_unit_price": "1" + "0" * 20,
            "reason": "Customer asked",
            "confirmed": confirmed,
        },
        follow=True,
    )

    assert response.status_code == 200
    assert "New unit price" in text_of(response)
    assert not order.lines.filter(sku="SKU-C").exists()


def test_the_edit_page_of_an_order_past_its_grace_period_says_so(page, opened_order):
    order = opened_order()

    response = page.get(f"/backoffice/orders/{order.number}/edit/", follow=True)

    assert response.redirect_chain[-1][0] == order_url(order)
    assert "can no longer be edited" in text_of(response)
