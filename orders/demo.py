"""Demo orders for `make run`: the web and POS channels and a handful of orders in
different states, all made through the services (idempotent)."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from inventory.models import Location, Product, StockLevel
from orders import services
from orders.intake import LineInput, OrderInput, order_create
from orders.models import Channel, Order

D = Decimal


def _order(number: int, products: list[Product], **fields) -> Order:
    lines = [
        LineInput(
            sku=product.sku,
            quantity=1 + index % 2,
            unit_price=D("19.90"),
            tax=D("3.78") * (1 + index % 2),
        )
        for index, product in enumerate(products)
    ]
    data = OrderInput(
        channel=fields.pop("channel", "web"),
        external_id=f"DEMO-{number}",
        currency="EUR",
        payment_token=fields.pop("payment_token", "tok_approve"),
        customer_name=fields.pop("customer_name", f"Demo Customer {number}"),
        customer_email=fields.pop("customer_email", f"customer{number}@example.com"),
        shipping_address={
            "address_line1": f"Hauptstraße {number}",
            "city": "Berlin",
            "postal_code": "10115",
            "country": "DE",
        },
        shipping_method="standard",
        shipping_price=fields.pop("shipping_price", D("4.90")),
        lines=lines,
        **fields,
    )
    return order_create(data=data)[0]


def _past_grace(order: Order) -> Order:
    # Demo orders are placed "a while ago" so the sweep has something to open.
    Order.objects.filter(pk=order.pk).update(
        grace_period_ends_at=timezone.now() - timedelta(minutes=1)
    )
    return services.order_open(order_id=order.pk) or order


def seed(stdout) -> None:
    if Channel.objects.filter(code="web").exists():
        stdout.write("orders: demo data present")
        return
    services.channel_create(
        code="web",
        name="Web shop",
        blocked_domains=["blocked.example"],
        order_value_limit=D("500.00"),
    )
    services.channel_create(code="pos", name="Stores (POS)", grace_period_minutes=0)
    products = list(Product.objects.filter(active=True).order_by("sku")[:8])
    if len(products) < 4:
        stdout.write("orders: no products yet; run the inventory demo first")
        return
    _order(1, products[:2])
    _order(2, products[2:5])
    _past_grace(_order(3, products[:3]))
    _past_grace(_order(4, products[3:5], customer_email="mallory@blocked.example"))
    partly = _past_grace(_order(5, products[1:3]))
    first = partly.lines.order_by("position").first()
    services.order_lines_cancel(
        order=partly, quantities={first.pk: 1}, actor=None, reason="Damaged in stock"
    )
    swapped = _past_grace(_order(6, products[4:6]))
    services.order_items_swap(
        order=swapped,
        line_id=swapped.lines.order_by("position").first().pk,
        new_sku=products[7].sku,
        quantity=1,
        actor=None,
        reason="Colour out of stock",
    )
    cancelled = _past_grace(_order(7, products[5:7]))
    services.order_cancel(order=cancelled, actor=None, reason="Customer changed mind")
    store = Location.objects.filter(type="store", can_pickup=True).first()
    if store is not None:
        level = (
            StockLevel.objects.filter(location=store, on_hand__gt=2)
            .select_related("product")
            .first()
        )
        if level is not None:
            _order(
                8,
                [level.product],
                channel="pos",
                order_type="pos",
                pickup_location=store.code,
                shipping_price=D("0"),
            )
    stdout.write(f"orders: 2 channels, {Order.objects.count()} demo orders")
