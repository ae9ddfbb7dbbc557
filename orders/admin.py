from django.contrib import admin

from orders.models import Channel, Order, OrderLine


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "grace_period_minutes", "order_value_limit"]


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    readonly_fields = [field.name for field in OrderLine._meta.fields]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Read-only: state changes go through the services (pages and API)."""

    list_display = ["number", "channel", "order_type", "status", "queue", "total"]
    list_filter = ["status", "queue", "order_type", "channel"]
    search_fields = ["number", "external_id", "customer_email"]
    readonly_fields = [field.name for field in Order._meta.fields]
    inlines = [OrderLineInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
