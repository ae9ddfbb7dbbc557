"""Read-only admin views: returns change only through `returns.services`."""

from django.contrib import admin

from returns.models import Return, ReturnLine, ReturnWindow


class ReturnLineInline(admin.TabularInline):
    model = ReturnLine
    extra = 0
    can_delete = False
    fields = [
        "line_type",
        "sku",
        "quantity",
        "reason",
        "condition",
        "refund_amount",
        "restocked",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Return)
class ReturnAdmin(admin.ModelAdmin):
    list_display = ["rma_number", "status", "order", "external_order_id", "location"]
    list_filter = ["status", "channel"]
    search_fields = ["rma_number", "order__number", "external_order_id"]
    inlines = [ReturnLineInline]
    readonly_fields = [field.name for field in Return._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ReturnWindow)
class ReturnWindowAdmin(admin.ModelAdmin):
    """Return windows per channel and order type: configuration, editable here."""

    list_display = ["channel", "order_type", "days"]
    list_filter = ["channel"]
