"""Read-only admin views: money changes only through `payments.services`."""

from django.contrib import admin

from payments.models import PaymentAccount, PaymentTransaction, TestProviderOperation


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class PaymentTransactionInline(admin.TabularInline):
    model = PaymentTransaction
    extra = 0
    can_delete = False
    fields = ["kind", "amount", "status", "attempts", "provider_reference", "error"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PaymentAccount)
class PaymentAccountAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "owner_type",
        "owner_id",
        "status",
        "currency",
        "authorized_amount",
        "captured_amount",
        "refunded_amount",
        "voided_amount",
    ]
    list_filter = ["status", "provider", "currency"]
    search_fields = ["owner_id"]
    inlines = [PaymentTransactionInline]


@admin.register(PaymentTransaction)
class PaymentTransactionAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "account",
        "kind",
        "amount",
        "status",
        "attempts",
        "updated_at",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["idempotency_key", "provider_reference", "reference"]


@admin.register(TestProviderOperation)
class TestProviderOperationAdmin(ReadOnlyAdmin):
    list_display = ["idempotency_key", "operation", "amount", "outcome", "attempts"]
