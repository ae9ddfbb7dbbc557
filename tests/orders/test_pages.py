"""Back-office order pages, read as a CSR would read them."""

from decimal import Decimal

import pytest
from django.test import Client

from orders import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def csr_page(make_user):
    client = Client()
    client.force_login(make_user("csr"))
    return client


def test_the_list_filters_by_status_and_finds_an_order_by_sku(
    csr_page, place_order, opened_order
):
    created = place_order(customer_email="grace@example.com")
    opened = opened_order(
        lines=[
            __import__("orders.intake").intake.LineInput(
                sku="SKU-D", quantity=1, unit_price=Decimal("9.00")
            )
        ]
    )

    by_status = csr_page.get(
        "/backoffice/orders/", {"status": "opened"}
    ).content.decode()
    by_sku = csr_page.get("/backoffice/orders/", {"q": "SKU-D"}).content.decode()
    by_email = csr_page.get(
        "/backoffice/orders/", {"q": "grace@example.com"}
    ).content.decode()

    assert opened.number in by_status and created.number not in by_status
    assert opened.number in by_sku and created.number not in by_sku
    assert created.number in by_email and opened.number not in by_email


def test_bulk_cancel_asks_for_confirmation_then_runs_as_a_job(
    csr_page, opened_order, django_capture_on_commit_callbacks
):
    orders = [opened_order(), opened_order()]
    numbers = [order.number for order in orders]

    confirm = csr_page.post(
        "/backoffice/orders/bulk/", {"action": "cancel", "orders": numbers}
    )
    without_reason = csr_page.post(
        "/backoffice/orders/bulk/",
        {"action": "cancel", "orders": numbers, "mode": "run", "text": " "},
    )
    with django_capture_on_commit_callbacks(execute=True):
        started = csr_page.post(
            "/backoffice/orders/bulk/",
            {
                "action": "cancel",
                "orders": [*numbers, "NO-SUCH"],
                "mode": "run",
                "text": "Duplicates",
            },
        )
    job_page = csr_page.get(started["Location"]).content.decode()

    assert "Cancel 2 orders?" in confirm.content.decode()
    assert "Required." in without_reason.content.decode()
    assert started["Location"].startswith("/backoffice/jobs/")
    assert "Partly failed" in job_page
    assert 'data-field="rows_done">3</span> of 3 rows done' in job_page
    assert "Cancelled; 55.00 USD credited to the customer." in job_page
    assert "No order NO-SUCH." in job_page
    for order in orders:
        order.refresh_from_db()
        assert order.status == "cancelled"


def test_a_bulk_dry_run_changes_nothing_and_can_be_confirmed(
    csr_page, opened_order, django_capture_on_commit_callbacks
):
    order = opened_order()

    with django_capture_on_commit_callbacks(execute=True):
        started = csr_page.post(
            "/backoffice/orders/bulk/",
            {
                "action": "cancel",
                "orders": [order.number],
                "mode": "dry_run",
                "text": "Fraud",
            },
        )
    preview = csr_page.get(started["Location"]).content.decode()
    order.refresh_from_db()
    assert order.status == "opened"
    assert "Would cancel 3 units and credit 55.00 USD to the customer." in preview
    assert "Confirm: run these 1 rows for real" in preview

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = csr_page.post(f"{started['Location']}confirm/")
    order.refresh_from_db()
    assert order.status == "cancelled"
    real = csr_page.get(confirmed["Location"]).content.decode()
    assert "Cancelled; 55.00 USD credited" in real


def test_the_result_csv_and_the_progress_json_of_a_job(
    csr_page, opened_order, django_capture_on_commit_callbacks
):
    order = opened_order()
    with django_capture_on_commit_callbacks(execute=True):
        started = csr_page.post(
            "/backoffice/orders/bulk/",
            {
                "action": "release",
                "orders": [order.number, "NO-SUCH"],
                "mode": "run",
            },
        )
    job_url = started["Location"]

    progress = csr_page.get(f"{job_url}progress.json").json()
    results = csr_page.get(f"{job_url}results.csv")
    text = b"".join(results.streaming_content).decode("utf-8-sig")

    assert {k: progress[k] for k in ("status", "rows_done", "rows_failed")} == {
        "status": "failed",
        "rows_done": 2,
        "rows_failed": 2,
    }
    assert progress["progress_percent"] == 100 and progress["finished"] is True
    assert results["Content-Type"] == "text/csv; charset=utf-8"
    assert text.splitlines() == [
        "line,number,status,reason,result",
        f"1,{order.number},failed,It is opened in Brokering.,",
        "2,NO-SUCH,failed,No order NO-SUCH.,",
    ]


def test_the_order_page_shows_only_the_actions_allowed_now(
    csr_page, place_order, opened_order
):
    created = place_order()
    opened = opened_order()

    in_grace = csr_page.get(f"/backoffice/orders/{created.number}/").content.decode()
    after = csr_page.get(f"/backoffice/orders/{opened.number}/").content.decode()

    assert "Edit order" in in_grace
    assert "Edit order" not in after
    assert "Approve order" not in after
    assert "Cancel whole order" in after
    assert "Preview swap" in after


def test_a_swap_previews_the_price_difference_before_confirming(csr_page, opened_order):
    order = opened_order()
    line_b = order.lines.get(sku="SKU-B")
    swap = {
        "line_id": line_b.pk,
        "quantity": "1",
        "new_sku": "SKU-D",
        "new_unit_price": "30.00",
        "reason": "Colour out of stock",
    }

    preview = csr_page.post(
        f"/backoffice/orders/{order.number}/swap/", swap
    ).content.decode()
    untouched = services.order_account(order).authorized_amount
    done = csr_page.post(
        f"/backoffice/orders/{order.number}/swap/",
        {**swap, "confirmed": "yes"},
        follow=True,
    ).content.decode()

    # 25.00 + 2.50 tax out, 30.00 + 3.00 tax in
    assert "5.50 USD</strong> more will be authorized" in " ".join(preview.split())
    assert untouched == Decimal("55.00")
    assert f"Items of order {order.number} swapped for SKU-D." in done
    assert services.order_account(order).authorized_amount == Decimal("60.50")


def test_a_swap_of_more_units_than_are_left_is_refused_before_the_preview(
    csr_page, opened_order
):
    order = opened_order()
    line_b = order.lines.get(sku="SKU-B")

    page = csr_page.post(
        f"/backoffice/orders/{order.number}/swap/",
        {"line_id": line_b.pk, "quantity": "5", "new_sku": "SKU-D", "reason": "r"},
        follow=True,
    ).content.decode()

    assert "Quantity: Only 1 left of SKU-B." in page
    assert not order.lines.filter(sku="SKU-D").exists()


def test_cancelling_items_previews_the_refund_before_confirming(csr_page, opened_order):
    order = opened_order()
    line_a = order.lines.get(sku="SKU-A")

    preview = csr_page.post(
        f"/backoffice/orders/{order.number}/cancel-items/",
        {f"qty-{line_a.pk}": "1", "reason": "Damaged"},
    ).content.decode()
    line_a.refresh_from_db()
    assert line_a.quantity_cancelled == 0
    assert "11.00 USD" in preview

    csr_page.post(
        f"/backoffice/orders/{order.number}/cancel-items/",
        {f"qty-{line_a.pk}": "1", "reason": "Damaged", "confirmed": "yes"},
    )
    line_a.refresh_from_db()
    assert line_a.quantity_cancelled == 1


def test_a_store_associate_cannot_open_orders(make_user, place_order):
    client = Client()
    client.force_login(make_user("store_associate"))

    assert client.get("/backoffice/orders/").status_code == 403


def edit_form(order, *rows, **fields) -> dict:
    """What the edit page posts: the contact fields and one row per line (the
    order's own unless `rows` are given), as (sku, quantity, unit price, tax)."""
    rows = rows or [
        (line.sku, line.quantity, str(line.unit_price), str(line.tax))
        for line in order.lines.order_by("position")
    ]
    data = {
        "customer_name": order.customer_name,
        "customer_email": order.customer_email,
        "customer_phone": "",
        "shipping_method": order.shipping_method,
        "notes": "",
        "address_line1": order.shipping_address.get("address_line1", ""),
        "city": order.shipping_address.get("city", ""),
        "postal_code": "",
        "country": "",
        "lines-TOTAL_FORMS": str(len(rows)),
        "lines-INITIAL_FORMS": str(order.lines.count()),
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for n, (sku, quantity, unit_price, tax) in enumerate(rows):
        data |= {
            f"lines-{n}-sku": sku,
            f"lines-{n}-quantity": str(quantity),
            f"lines-{n}-unit_price": unit_price,
            f"lines-{n}-discount": "0",
            f"lines-{n}-tax": tax,
        }
    return data | fields


def test_a_csr_edits_the_address_during_the_grace_period(csr_page, place_order):
    order = place_order()
    account_before = services.order_account(order).authorized_amount

    form = csr_page.get(f"/backoffice/orders/{order.number}/edit/").content.decode()
    done = csr_page.post(
        f"/backoffice/orders/{order.number}/edit/",
        edit_form(
            order,
            customer_name="Ada King",
            shipping_method="express",
            address_line1="3 New Road",
            city="Bath",
            postal_code="BA1",
            country="GB",
        ),
        follow=True,
    ).content.decode()

    assert 'value="1 Analytical Row"' in form
    assert 'value="SKU-A"' in form
    assert f"Order {order.number} updated; total 55.00 USD." in done
    order.refresh_from_db()
    assert order.shipping_address["city"] == "Bath"
    assert order.shipping_method == "express"
    # The lines were posted unchanged: they are kept, and no money moves.
    assert [line.sku for line in order.lines.order_by("position")] == [
        "SKU-A",
        "SKU-B",
    ]
    assert services.order_account(order).authorized_amount == account_before


def test_a_csr_changes_the_lines_and_the_authorization_follows(csr_page, place_order):
    order = place_order()
    # 2 × SKU-A becomes 3, SKU-B is removed, SKU-C is added.
    data = edit_form(
        order,
        ("SKU-A", 3, "10.00", "3.00"),
        ("SKU-B", 1, "25.00", "2.50"),
        ("SKU-C", 1, "12.00", "0"),
    )
    data["lines-1-DELETE"] = "on"

    done = csr_page.post(
        f"/backoffice/orders/{order.number}/edit/", data, follow=True
    ).content.decode()

    # 33.00 + 12.00 + shipping 5.50
    assert f"Order {order.number} updated; total 50.50 USD." in done
    lines = order.lines.order_by("position")
    assert [(line.sku, line.quantity) for line in lines] == [("SKU-A", 3), ("SKU-C", 1)]
    account = services.order_account(order)
    assert account.authorized_amount - account.voided_amount == Decimal("50.50")


def test_an_unknown_sku_is_shown_on_its_row_and_changes_nothing(csr_page, place_order):
    order = place_order()

    page = csr_page.post(
        f"/backoffice/orders/{order.number}/edit/",
        edit_form(order, ("SKU-A", 2, "10.00", "2.00"), ("NOPE-1", 1, "5.00", "0")),
    ).content.decode()

    assert "The new lines are not valid." in page
    assert "Unknown or inactive SKU &#x27;NOPE-1&#x27;." in page
    assert 'value="NOPE-1"' in page
    assert sorted(order.lines.values_list("sku", flat=True)) == ["SKU-A", "SKU-B"]


def test_the_lines_of_an_order_with_cancelled_items_are_not_offered_for_editing(
    csr_page, place_order
):
    order = place_order()
    line_a = order.lines.get(sku="SKU-A")
    services.order_lines_cancel(
        order=order, quantities={line_a.pk: 1}, actor=None, reason="Customer asked"
    )

    page = csr_page.get(f"/backoffice/orders/{order.number}/edit/").content.decode()
    done = csr_page.post(
        f"/backoffice/orders/{order.number}/edit/",
        edit_form(order, notes="Leave at the door"),
        follow=True,
    ).content.decode()

    assert "can no longer be replaced" in page
    assert 'name="lines-0-sku"' not in page
    assert f"Order {order.number} updated" in done
    order.refresh_from_db()
    assert order.notes == "Leave at the door"


def test_bulk_approve_approves_the_held_orders_and_says_which_were_refused(
    csr_page, channel, opened_order, django_capture_on_commit_callbacks
):
    channel.order_value_limit = Decimal("10.00")
    channel.save()
    held = opened_order()
    channel.order_value_limit = None
    channel.save()
    opened = opened_order()

    with django_capture_on_commit_callbacks(execute=True):
        started = csr_page.post(
            "/backoffice/orders/bulk/",
            {
                "action": "approve",
                "orders": [held.number, opened.number],
                "mode": "run",
                "text": "Reviewed by phone",
            },
        )
    done = csr_page.get(started["Location"]).content.decode()

    assert 'data-field="rows_succeeded">1</span> succeeded' in done
    assert "Approved; now in Brokering." in done
    assert "It is opened; only orders on hold can be approved." in done
    held.refresh_from_db()
    assert held.status == "opened"


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", ""),
        ("get", "edit/"),
        ("post", "edit/"),
        ("post", "approve/"),
        ("post", "cancel/"),
        ("post", "cancel-items/"),
        ("post", "swap/"),
    ],
)
def test_every_order_page_says_not_found_for_an_unknown_order(csr_page, method, path):
    response = getattr(csr_page, method)(f"/backoffice/orders/NO-SUCH-ORDER/{path}")

    assert response.status_code == 404


@pytest.mark.parametrize("quantity", ["²", "9" * 30, "-1", "abc"])
def test_cancelling_items_with_a_quantity_that_is_no_number_asks_again(
    csr_page, opened_order, quantity
):
    order = opened_order()
    line_a = order.lines.get(sku="SKU-A")

    response = csr_page.post(
        f"/backoffice/orders/{order.number}/cancel-items/",
        {f"qty-{line_a.pk}": quantity, "reason": "Damaged"},
        follow=True,
    )

    assert response.status_code == 200
    assert "Choose quantities to cancel and give a reason." in response.content.decode()
    line_a.refresh_from_db()
    assert line_a.quantity_cancelled == 0


def test_the_orders_export_streams_the_filtered_list(
    csr_page, place_order, opened_order
):
    created = place_order(customer_email="grace@example.com")
    opened = opened_order()

    response = csr_page.get("/backoffice/orders/export.csv", {"status": "opened"})

    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == (
        "number,external_id,placed_at,channel,type,customer_name,customer_email,"
        "total,currency,status,queue"
    )
    assert len(lines) == 2
    assert lines[1].startswith(f"{opened.number},{opened.external_id},")
    assert lines[1].endswith(
        ",web,standard,Ada Lovelace,ada@example.com,55.00,USD,opened,brokering"
    )
    assert created.number not in text
