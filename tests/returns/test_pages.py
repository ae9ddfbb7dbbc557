"""Returns pages: return items from the order with a refund preview, the detail
with its checks, correction and retry, the list and its filters."""

import pytest
from django.test import Client

from orders.services import channel_create
from returns.models import Return
from returns.selectors import return_refund_transactions

pytestmark = pytest.mark.django_db


@pytest.fixture
def csr_client(client, make_user):
    client.force_login(make_user("csr"))
    return client


def form_data(order, location, **units):
    data = {"location": location.pk}
    for line in order.lines.all():
        data[f"qty-{line.pk}"] = units.get(line.sku.replace("-", "_"), 0)
        data[f"reason-{line.pk}"] = "size"
        data[f"condition-{line.pk}"] = "resellable"
    return data


def test_return_items_from_the_order_page_with_a_preview(
    csr_client, shipped_order, places, django_capture_on_commit_callbacks
):
    order_page = csr_client.get(f"/backoffice/orders/{shipped_order.number}/")
    assert "Return items" in order_page.content.decode()
    url = f"/backoffice/returns/new/{shipped_order.number}/"

    preview = csr_client.post(
        url,
        {
            **form_data(shipped_order, places["near"], SKU_A=2, SKU_B=1),
            "preview": "yes",
        },
    )
    text = preview.content.decode()
    assert "Shipping cost (last item back)" in text
    assert "55.00 USD" in text
    assert not Return.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = csr_client.post(
            url,
            {
                **form_data(shipped_order, places["near"], SKU_A=2, SKU_B=1),
                "confirm": "yes",
            },
            follow=True,
        )
    text = done.content.decode()
    assert "processed: 55.00 USD refunded" in text
    assert "Restocked at CAMDEN" in text
    detail = csr_client.get(done.redirect_chain[-1][0]).content.decode()
    assert "Succeeded" in detail
    order_page = csr_client.get(f"/backoffice/orders/{shipped_order.number}/")
    assert "Fully returned" in order_page.content.decode()


def test_nothing_chosen_is_refused_on_the_page(csr_client, shipped_order, places):
    response = csr_client.post(
        f"/backoffice/returns/new/{shipped_order.number}/",
        {**form_data(shipped_order, places["near"]), "preview": "yes"},
    )

    assert "Choose at least one unit to return." in response.content.decode()
    assert not Return.objects.exists()


def test_a_failed_return_shows_why_and_is_retried_after_a_correction(
    csr_client, ship_order, places
):
    channel_create(code="strict", name="Strict", return_window_days=0)
    order = ship_order(channel="strict")
    csr_client.post(
        f"/backoffice/returns/new/{order.number}/",
        {**form_data(order, places["near"], SKU_B=1), "confirm": "yes"},
    )
    ret = Return.objects.get()
    page = csr_client.get(f"/backoffice/returns/{ret.pk}/").content.decode()
    assert "failed its checks" in page or "Failed" in page
    assert "returnable until" in page
    assert "Check again" in page

    refused = csr_client.post(
        f"/backoffice/returns/{ret.pk}/retry/",
        {"window_extension_days": "3", "comment": ""},
        follow=True,
    )
    assert "Say why the return window is extended." in refused.content.decode()
    retried = csr_client.post(
        f"/backoffice/returns/{ret.pk}/retry/",
        {"window_extension_days": "3", "comment": "Parcel lost for a week"},
        follow=True,
    )
    text = retried.content.decode()
    assert "Parcel lost for a week" in text
    ret.refresh_from_db()
    assert ret.status == "processed"


def test_store_associates_see_only_their_locations_returns(
    csr_client, shipped_order, places, associate
):
    csr_client.post(
        f"/backoffice/returns/new/{shipped_order.number}/",
        {**form_data(shipped_order, places["far"], SKU_B=1), "confirm": "yes"},
    )
    ret = Return.objects.get()
    client = Client()
    client.force_login(associate)

    assert client.get(f"/backoffice/returns/{ret.pk}/").status_code == 404
    assert ret.rma_number not in client.get("/backoffice/returns/").content.decode()
    listed = csr_client.get("/backoffice/returns/?location=CROYDON&status=processed")
    assert ret.rma_number in listed.content.decode()
    assert (
        ret.rma_number
        not in csr_client.get("/backoffice/returns/?reason=damaged").content.decode()
    )


def test_a_failed_refund_shows_on_the_return_with_a_retry_button(
    csr_client, ship_order, places, django_capture_on_commit_callbacks
):
    order = ship_order(payment_token="tok_refund_fail")
    with django_capture_on_commit_callbacks(execute=True):
        csr_client.post(
            f"/backoffice/returns/new/{order.number}/",
            {**form_data(order, places["near"], SKU_B=1), "confirm": "yes"},
        )
    ret = Return.objects.get()
    page = csr_client.get(f"/backoffice/returns/{ret.pk}/").content.decode()
    assert "Processed" in page
    assert "Retry refund" in page

    (refund,) = return_refund_transactions(return_request=ret)
    retried = csr_client.post(
        f"/backoffice/payments/transactions/{refund.pk}/retry/",
        {"next": f"/backoffice/returns/{ret.pk}/"},
        follow=True,
    )
    # The card issuer still refuses: the failure stays visible, with its attempts.
    text = retried.content.decode()
    assert f"Return {ret.rma_number}" in text
    assert "Retry refund" in text
    refund.refresh_from_db()
    assert (refund.status, refund.attempts) == ("failed", 2)


def test_the_dashboard_counts_failed_returns(csr_client, ship_order, places):
    order = ship_order(tags=["final_sale"])
    csr_client.post(
        f"/backoffice/returns/new/{order.number}/",
        {**form_data(order, places["near"], SKU_B=1), "confirm": "yes"},
    )

    page = csr_client.get("/backoffice/").content.decode()

    assert "Returns that failed their checks" in page
    assert "/backoffice/returns/?status=failed" in page


@pytest.mark.parametrize(
    "number, shown", [("a/b", "a/b"), ("OMS-NOPE", "OMS-NOPE"), ("OMS\x00-1", "OMS-1")]
)
def test_return_items_of_an_unknown_order_says_there_is_none(csr_client, number, shown):
    response = csr_client.get("/backoffice/returns/", {"return_order": number})

    assert response.status_code == 200
    assert f"No order {shown}." in response.content.decode()


def test_return_items_of_a_known_order_opens_its_return_form(csr_client, shipped_order):
    response = csr_client.get(
        "/backoffice/returns/", {"return_order": f" {shipped_order.number} "}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/backoffice/returns/new/{shipped_order.number}/"


def test_the_list_says_which_filter_is_wrong_and_lists_nothing(
    csr_client, shipped_order, places
):
    csr_client.post(
        f"/backoffice/returns/new/{shipped_order.number}/",
        {**form_data(shipped_order, places["near"], SKU_B=1), "confirm": "yes"},
    )
    ret = Return.objects.get()

    nul = csr_client.get("/backoffice/returns/", {"order": "\x00", "location": "\x00"})
    bad_date = csr_client.get("/backoffice/returns/", {"created_from": "yesterday"})
    too_long = csr_client.get("/backoffice/returns/", {"order": "9" * 40})

    assert nul.status_code == 200 and ret.rma_number in nul.content.decode()
    assert bad_date.status_code == 200
    assert "Created from: Date has wrong format." in bad_date.content.decode()
    assert ret.rma_number not in bad_date.content.decode()
    assert "Order: Ensure this field has no more than 32 characters." in (
        too_long.content.decode()
    )


@pytest.mark.parametrize(
    "days, message",
    [
        ("²", "A valid integer is required."),
        ("9" * 40, "Ensure this value is less than or equal to 365."),
        ("-1", "Ensure this value is greater than or equal to 0."),
        ("400", "Ensure this value is less than or equal to 365."),
    ],
)
def test_retrying_with_extension_days_that_are_no_valid_number_says_so(
    csr_client, ship_order, places, days, message
):
    channel_create(code="strict", name="Strict", return_window_days=0)
    order = ship_order(channel="strict")
    csr_client.post(
        f"/backoffice/returns/new/{order.number}/",
        {**form_data(order, places["near"], SKU_B=1), "confirm": "yes"},
    )
    ret = Return.objects.get()

    response = csr_client.post(
        f"/backoffice/returns/{ret.pk}/retry/",
        {"window_extension_days": days, "comment": "Parcel lost"},
        follow=True,
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    ret.refresh_from_db()
    assert (ret.status, ret.window_extension_days) == ("failed", 0)


def test_an_exchange_is_asked_on_the_page_with_refund_and_credit_previewed(
    csr_client, shipped_order, places
):
    url = f"/backoffice/returns/new/{shipped_order.number}/"
    line = shipped_order.lines.get(sku="SKU-B")
    exchange = {
        **form_data(shipped_order, places["near"], SKU_B=1),
        f"exchange-{line.pk}": "on",
        f"replacement_sku-{line.pk}": "SKU-C",
        f"replacement_price-{line.pk}": "30.00",
    }

    preview = csr_client.post(url, {**exchange, "preview": "yes"}).content.decode()

    assert "1 × SKU-C" in preview
    assert "27.50 USD</strong> paid by the items returned" in preview
    assert "5.50 USD</strong> more is authorized" in preview
    assert not Return.objects.exists()

    done = csr_client.post(url, {**exchange, "confirm": "yes"}, follow=True)
    text = done.content.decode()
    ret = Return.objects.get()
    replacement = ret.replacement_order
    assert f"Replacement order {replacement.number} created" in text
    assert f'href="/backoffice/orders/{replacement.number}/"' in text
    replacement_page = csr_client.get(f"/backoffice/orders/{replacement.number}/")
    page_text = replacement_page.content.decode()
    assert f'Replacement for return <a href="/backoffice/returns/{ret.pk}/">' in (
        page_text
    )
    assert "Paid by items returned" in page_text
    original = csr_client.get(f"/backoffice/orders/{shipped_order.number}/")
    assert replacement.number in original.content.decode()
    assert "Partly returned" in original.content.decode()


def test_an_unknown_replacement_sku_is_a_message_on_the_page(
    csr_client, shipped_order, places
):
    line = shipped_order.lines.get(sku="SKU-A")
    response = csr_client.post(
        f"/backoffice/returns/new/{shipped_order.number}/",
        {
            **form_data(shipped_order, places["near"], SKU_A=1),
            f"exchange-{line.pk}": "on",
            f"replacement_sku-{line.pk}": "NOPE",
            "preview": "yes",
        },
    )

    assert "Unknown or inactive replacement SKU &#x27;NOPE&#x27;." in (
        response.content.decode()
    )
    assert not Return.objects.exists()
