from django.urls import path

from payments import api

urlpatterns = [
    path(
        "payment-accounts",
        api.PaymentAccountListApi.as_view(),
        name="payment-account-list",
    ),
    path(
        "payment-accounts/<int:pk>",
        api.PaymentAccountDetailApi.as_view(),
        name="payment-account-detail",
    ),
    path(
        "payment-transactions/<int:pk>/retry",
        api.PaymentTransactionRetryApi.as_view(),
        name="payment-transaction-retry",
    ),
]
