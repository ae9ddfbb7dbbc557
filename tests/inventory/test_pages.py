"""Back-office pages, read as a person would."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from inventory import services
from inventory.models import CycleCount, StockLevel, TransferOrder
from oms.roles import Role

pytestmark = pytest.mark.django_db

Item = services.ItemQuantity


@pytest.fixture
def manager(client, make_user):
    client.force_login(make_user(Role.INVENTORY_MANAGER))
    return client


def text(response) -> str:
    return response.content.decode()


def test_stock_search_shows_available_units(client, make_user, store, product, receive):
    receive(store, product, 5)
    services.reservation_create(
        location=store, product=product, quantity=2, owner_type="o", owner_id="1"
    )
    client.force_login(make_user(Role.CSR))

    page = client.get(f"/backoffice/inventory/stock/?location={store.code}&q=shirt")

    assert page.status_code == 200
    assert f'data-testid="stock-{store.code}-{product.sku}"' in text(page)
    assert "<strong>3</strong>" in text(page)
    assert client.get("/backoffice/inventory/sync/").status_code == 403


def test_ledger_page_lists_movements_of_a_product(manager, store, product, receive):
    receive(store, product, 5, reference="PO-9")
    page = manager.get(f"/backoffice/inventory/ledger/?sku={product.sku}")
    assert "purchase_order:PO-9" in text(page)


def test_close_confirmation_says_what_happens_then_closes(
    manager, dc, store, product, receive
):
    receive(dc, product, 9)
    transfer_order = services.transfer_order_create(
        origin=dc, destination=store, items=[Item(product, 10)]
    )
    services.transfer_order_ship(transfer_order=transfer_order, carrier="DHL")
    services.transfer_order_receive(transfer_order=transfer_order)

    confirm = manager.get(
        f"/backoffice/inventory/transfer-orders/{transfer_order.pk}/close/"
    )
    assert "1 unit never shipped will be cancelled." in text(confirm)

    done = manager.post(
        f"/backoffice/inventory/transfer-orders/{transfer_order.pk}/close/",
        {"reason": "short"},
        follow=True,
    )
    assert f"{transfer_order.number} closed." in text(done)
    transfer_order.refresh_from_db()
    assert transfer_order.status == TransferOrder.Status.CLOSED

    again = manager.post(
        f"/backoffice/inventory/transfer-orders/{transfer_order.pk}/close/", follow=True
    )
    assert "Not allowed now" in text(again)


def test_transfer_order_form_reports_unknown_skus(manager, dc, store):
    page = manager.post(
        "/backoffice/inventory/transfer-orders/new/",
        {"origin": dc.code, "destination": store.code, "items": "NOPE, 2"},
    )
    assert "Unknown SKU: NOPE." in text(page)
    assert not TransferOrder.objects.exists()


def test_adjustment_form_posts_and_refuses_a_wrong_sign(
    manager, store, product, receive
):
    receive(store, product, 5)
    refused = manager.post(
        "/backoffice/inventory/adjustments/new/",
        {
            "location": store.code,
            "sku": product.sku,
            "quantity": 2,
            "reason": "damaged",
        },
    )
    assert "A damaged adjustment must be negative." in text(refused)

    posted = manager.post(
        "/backoffice/inventory/adjustments/new/",
        {
            "location": store.code,
            "sku": product.sku,
            "quantity": -2,
            "reason": "damaged",
        },
        follow=True,
    )
    assert "3 on hand now" in text(posted)


def test_count_entry_then_review_highlights_discrepancies(
    manager, store, make_product, receive
):
    shirt, cap = make_product("SHIRT"), make_product("CAP")
    receive(store, shirt, 5)
    receive(store, cap, 2)
    count = services.cycle_count_create(location=store, products=[shirt, cap])
    lines = {line.product_id: line.pk for line in count.lines.all()}

    manager.post(
        f"/backoffice/inventory/cycle-counts/{count.pk}/submit/",
        {f"count-{lines[shirt.pk]}": "4", f"count-{lines[cap.pk]}": "2"},
    )
    review = text(manager.get(f"/backoffice/inventory/cycle-counts/{count.pk}/"))

    assert "1 discrepancy" in review
    assert 'data-testid="line-SHIRT" class="highlight"' in review
    assert 'data-testid="line-CAP">' in review
    manager.post(
        f"/backoffice/inventory/cycle-counts/{count.pk}/review/",
        {"decision": "approve"},
    )
    count.refresh_from_db()
    assert count.status == CycleCount.Status.APPROVED
    assert StockLevel.objects.get(location=store, product=shirt).on_hand == 4


def test_a_sync_upload_runs_as_a_job_dry_run_first(
    manager, store, product, django_capture_on_commit_callbacks
):
    def upload():
        return SimpleUploadedFile(
            "erp.csv",
            f"location,sku,quantity\n{store.code},{product.sku},6\n"
            f"{store.code},NOPE,1\n".encode(),
            content_type="text/csv",
        )

    with django_capture_on_commit_callbacks(execute=True):
        preview = manager.post(
            "/backoffice/inventory/sync/", {"file": upload(), "dry_run": "on"}
        )
    dry_page = text(manager.get(preview["Location"]))
    assert not StockLevel.objects.filter(on_hand__gt=0).exists()
    assert "Would set on_hand 0 → 6 (+6)." in dry_page
    assert "Unknown SKU &#x27;NOPE&#x27;." in dry_page

    with django_capture_on_commit_callbacks(execute=True):
        applied = manager.post("/backoffice/inventory/sync/", {"file": upload()})
    page = text(manager.get(applied["Location"]))
    assert "Set on_hand 0 → 6 (+6)." in page
    assert 'data-field="rows_failed">1</span> failed' in page
    assert StockLevel.objects.get(location=store, product=product).on_hand == 6
    assert "erp.csv" in text(manager.get("/backoffice/inventory/sync/"))


def test_a_sync_upload_without_the_header_is_refused_on_the_form(manager, store):
    upload = SimpleUploadedFile("erp.csv", b"STORE,SKU,1\n", content_type="text/csv")
    page = text(manager.post("/backoffice/inventory/sync/", {"file": upload}))
    assert "The CSV must start with the header location,sku,quantity." in page


def test_dashboard_counts_overdue_transfers_and_counts_awaiting_review(
    manager, dc, store, product, receive
):
    receive(dc, product, 2)
    services.transfer_order_create(
        origin=dc,
        destination=store,
        items=[Item(product, 1)],
        expected_at=timezone.localdate() - timedelta(days=1),
    )
    count = services.cycle_count_create(location=store, products=[product])
    services.cycle_count_submit(cycle_count=count, counts={product.pk: 0})

    dashboard = text(manager.get("/backoffice/"))

    assert "Transfer orders past their date" in dashboard
    assert "/backoffice/inventory/transfer-orders/?overdue=1" in dashboard
    assert "Cycle counts awaiting review" in dashboard
    overdue = text(manager.get("/backoffice/inventory/transfer-orders/?overdue=1"))
    assert "TO-" in overdue
