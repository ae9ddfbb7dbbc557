"""Django admin: products and locations are editable master data; stock, ledger
and documents are read-only here, because they change only through the services."""

from django.contrib import admin

from inventory.models import (
    Asn,
    AsnLine,
    CycleCount,
    CycleCountLine,
    InventoryTransaction,
    Location,
    Product,
    Reservation,
    StaffLocation,
    StockLevel,
    StockSync,
    TransferOrder,
    TransferOrderLine,
)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "barcode", "active"]
    list_filter = ["active"]
    search_fields = ["sku", "name", "barcode"]


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "type",
        "postal_code",
        "can_ship",
        "can_pickup",
        "routing_priority",
        "safety_stock",
        "active",
    ]
    list_filter = ["type", "active", "can_ship", "can_pickup"]
    search_fields = ["code", "name", "postal_code", "city"]


@admin.register(StaffLocation)
class StaffLocationAdmin(admin.ModelAdmin):
    list_display = ["user", "location", "created_at"]
    list_select_related = ["user", "location"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StockLevel)
class StockLevelAdmin(ReadOnlyAdmin):
    list_display = ["location", "product", "on_hand", "reserved", "updated_at"]
    list_select_related = ["location", "product"]
    search_fields = ["product__sku", "location__code"]


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = ["owner_type", "owner_id", "location", "product", "quantity"]
    list_select_related = ["location", "product"]
    search_fields = ["owner_id", "product__sku"]


@admin.register(InventoryTransaction)
class InventoryTransactionAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "type",
        "location",
        "product",
        "quantity",
        "on_hand_after",
        "reference",
        "reason",
    ]
    list_filter = ["type", "reason"]
    list_select_related = ["location", "product"]
    search_fields = ["reference", "product__sku"]


class AsnLineInline(admin.TabularInline):
    model = AsnLine
    extra = 0


@admin.register(Asn)
class AsnAdmin(ReadOnlyAdmin):
    list_display = ["number", "location", "status", "expected_at"]
    list_filter = ["status"]
    inlines = [AsnLineInline]


class TransferOrderLineInline(admin.TabularInline):
    model = TransferOrderLine
    extra = 0


@admin.register(TransferOrder)
class TransferOrderAdmin(ReadOnlyAdmin):
    list_display = ["number", "origin", "destination", "status", "expected_at"]
    list_filter = ["status"]
    inlines = [TransferOrderLineInline]


class CycleCountLineInline(admin.TabularInline):
    model = CycleCountLine
    extra = 0


@admin.register(CycleCount)
class CycleCountAdmin(ReadOnlyAdmin):
    list_display = ["id", "location", "status", "created_at", "counted_at"]
    list_filter = ["status"]
    inlines = [CycleCountLineInline]


@admin.register(StockSync)
class StockSyncAdmin(ReadOnlyAdmin):
    list_display = ["id", "source", "rows_total", "rows_changed", "rows_rejected"]
