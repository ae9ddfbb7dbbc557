"""Payments pages: an account with its transactions, the transactions that need a
look, and the Retry button (the same service as the API)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from oms.backoffice.access import RoleRequiredMixin, attempt_action, safe_next_url
from oms.backoffice.keyset import keyset_page
from oms.roles import Role
from payments import selectors, services
from payments.models import PaymentTransaction

READ_ROLES = (Role.CSR,)
RETRY_ROLES = (Role.CSR,)


class AccountDetailView(RoleRequiredMixin, TemplateView):
    template_name = "payments/account_detail.html"
    allowed_roles = READ_ROLES

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        account = selectors.payment_account_get(account_id=kwargs["pk"])
        if account is None:
            raise Http404("No such payment account.")
        context["account"] = account
        return context


class TransactionListView(RoleRequiredMixin, TemplateView):
    """Transactions newest first, by default the failed ones."""

    template_name = "payments/transaction_list.html"
    allowed_roles = READ_ROLES

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        status = self.request.GET.get("status", PaymentTransaction.Status.FAILED)
        if status not in PaymentTransaction.Status.values:
            status = ""
        transactions = selectors.payment_transaction_list(status=status)
        context["page"] = keyset_page(transactions, self.request.GET)
        context["status"] = status
        context["statuses"] = PaymentTransaction.Status.choices
        return context


class TransactionRetryView(RoleRequiredMixin, View):
    allowed_roles = RETRY_ROLES

    def post(self, request, pk: int):
        transaction = get_object_or_404(PaymentTransaction, pk=pk)
        next_url = safe_next_url(
            request,
            default=reverse("payments:account-detail", args=[transaction.account_id]),
        )
        refused = attempt_action(
            request,
            lambda: services.payment_transaction_retry(
                transaction=transaction, actor=request.user
            ),
        )
        if refused is None:
            messages.success(request, _retried(transaction))
        return redirect(next_url)


def _retried(transaction: PaymentTransaction) -> str:
    name = f"{transaction.get_kind_display()} #{transaction.pk}"
    replacements = [f"#{pk}" for pk in selectors.replacements_of(transaction)]
    if not replacements:
        return f"{name} retried; see its status below."
    return (
        f"{name} was refused again: its authorization no longer holds it. It was "
        f"asked again under the current authorizations as {', '.join(replacements)}."
    )
