"""Demo data: two DCs and four stores with coordinates, 30 products, stock, an open
ASN, transfer orders in several states and a cycle count awaiting review.
Idempotent: does nothing when the demo locations exist."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from inventory import services
from inventory.models import Location, Product, Receipt, StockLevel

LOCATIONS = [
    # code, name, type, city, postal code, latitude, longitude, priority, pickup
    (
        "DC-NORTH",
        "DC North (Hamburg)",
        "dc",
        "Hamburg",
        "20457",
        "53.541500",
        "9.984600",
        10,
        False,
    ),
    (
        "DC-SOUTH",
        "DC South (Munich)",
        "dc",
        "Munich",
        "80331",
        "48.137200",
        "11.575500",
        20,
        False,
    ),
    (
        "ST-BERLIN",
        "Store Berlin Mitte",
        "store",
        "Berlin",
        "10117",
        "52.520000",
        "13.405000",
        50,
        True,
    ),
    (
        "ST-COLOGNE",
        "Store Cologne",
        "store",
        "Cologne",
        "50667",
        "50.937500",
        "6.960300",
        50,
        True,
    ),
    (
        "ST-FRANKFURT",
        "Store Frankfurt",
        "store",
        "Frankfurt",
        "60311",
        "50.110900",
        "8.682100",
        60,
        True,
    ),
    (
        "ST-LEIPZIG",
        "Store Leipzig",
        "store",
        "Leipzig",
        "04109",
        "51.339700",
        "12.373100",
        60,
        True,
    ),
]
COLOURS = ["black", "white", "navy"]
ITEMS = [
    ("TEE", "T-shirt", 19),
    ("HOOD", "Hoodie", 59),
    ("JEAN", "Jeans", 79),
    ("CAP", "Cap", 15),
    ("SOCK", "Socks", 9),
]
SIZES = ["S", "M"]


def seed(stdout) -> None:
    if Location.objects.filter(code="DC-NORTH").exists():
        stdout.write("inventory: demo data present")
        return
    locations = {}
    for code, name, kind, city, postal, lat, lng, priority, pickup in LOCATIONS:
        locations[code] = services.location_create(
            code=code,
            name=name,
            type=kind,
            city=city,
            postal_code=postal,
            country="DE",
            latitude=lat,
            longitude=lng,
            routing_priority=priority,
            can_pickup=pickup,
            safety_stock=0 if kind == "dc" else 1,
        )
    products: list[Product] = []
    for prefix, label, price in ITEMS:
        for colour in COLOURS:
            for size in SIZES:
                products.append(
                    services.product_create(
                        sku=f"{prefix}-{colour[:3].upper()}-{size}",
                        name=f"{label} {colour} {size}",
                        barcode=f"40{len(products):011d}",
                        attributes={
                            "colour": colour,
                            "size": size,
                            "price": str(price),
                        },
                    )
                )
    for index, product in enumerate(products):
        for code, location in locations.items():
            quantity = (index * 7 + len(code) * 3) % (
                120 if code.startswith("DC") else 15
            )
            if quantity:
                services.items_receive(
                    location=location,
                    reference_type=Receipt.ReferenceType.PURCHASE_ORDER,
                    reference="PO-DEMO-OPENING",
                    items=[services.ItemQuantity(product, quantity)],
                )
    today = timezone.localdate()
    services.asn_create(
        location=locations["DC-NORTH"],
        supplier="Nordic Textiles",
        expected_at=today + timedelta(days=3),
        items=[services.ItemQuantity(p, 50) for p in products[:6]],
    )
    north, berlin = locations["DC-NORTH"], locations["ST-BERLIN"]
    services.transfer_order_create(
        origin=north,
        destination=locations["ST-COLOGNE"],
        items=[
            services.ItemQuantity(products[0], 5),
            services.ItemQuantity(products[1], 4),
        ],
        expected_at=today - timedelta(days=2),
    )
    shipped = services.transfer_order_create(
        origin=north,
        destination=berlin,
        items=[
            services.ItemQuantity(products[2], 6),
            services.ItemQuantity(products[3], 3),
        ],
        expected_at=today + timedelta(days=1),
    )
    services.transfer_order_ship(
        transfer_order=shipped, carrier="DHL", tracking_number="JD0146000001"
    )
    partly = services.transfer_order_create(
        origin=locations["DC-SOUTH"],
        destination=locations["ST-FRANKFURT"],
        items=[
            services.ItemQuantity(products[4], 8),
            services.ItemQuantity(products[5], 4),
        ],
        expected_at=today - timedelta(days=1),
    )
    services.transfer_order_ship(transfer_order=partly)
    first = partly.lines.select_related("product").first()
    services.transfer_order_receive(
        transfer_order=partly,
        items=[
            services.ItemQuantity(first.product, max(first.shipped_quantity - 2, 1))
        ],
    )
    count = services.cycle_count_create(location=berlin, products=products[6:10])
    on_hand = dict(
        StockLevel.objects.filter(
            location=berlin, product__in=products[6:10]
        ).values_list("product_id", "on_hand")
    )
    counts = {
        product.pk: max(on_hand.get(product.pk, 0) + offset % 3 - 1, 0)
        for offset, product in enumerate(products[6:10])
    }
    services.cycle_count_submit(cycle_count=count, counts=counts)
    associate = get_user_model().objects.filter(username="store_associate").first()
    if associate:
        services.location_assign_staff(user=associate, location=berlin)
    stdout.write(
        f"inventory: {len(locations)} locations, {len(products)} products, stock, "
        "an ASN, 3 transfer orders, 1 count awaiting review"
    )
