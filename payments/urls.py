from django.urls import path

from payments import views

app_name = "payments"
urlpatterns = [
    path(
        "accounts/<int:pk>/", views.AccountDetailView.as_view(), name="account-detail"
    ),
    path("transactions/", views.TransactionListView.as_view(), name="transaction-list"),
    path(
        "transactions/<int:pk>/retry/",
        views.TransactionRetryView.as_view(),
        name="transaction-retry",
    ),
]
