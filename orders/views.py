"""Back-office pages for orders: the list (filters, search, bulk approve/cancel)
and the order page with the actions its state allows now. Same services as the API."""

from typing import NamedTuple

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from oms.backoffice.access import RoleRequiredMixin, attempt_action, run_action
from oms.backoffice.jobs import start_job
from oms.backoffice.keyset import keyset_page
from oms.errors import NotFound
from oms.exports import export_response
from oms.params import int_param
from oms.roles import Role
from oms.services.transitions import allowed_transitions
from orders import errors, selectors, services
from orders.forms import (
    OrderEditForm,
    OrderFilterForm,
    SwapForm,
    order_lines_formset,
)
from orders.models import Order
from orders.routing.selectors import order_fulfillment, order_short_lines
from orders.services import order_account
from payments.models import PaymentAccount
from payments.money import quantize

ORDER_ROLES = (Role.CSR,)
PAGE_SIZE = 50


class BulkAction(NamedTuple):
    label: str
    what_happens: str
    text_label: str = "Reason"
    text_required: bool = False


BULK_ACTIONS = {
    "approve": BulkAction(
        "Approve",
        "will be approved and sent to routing. Only orders on hold can be "
        "approved; the others are reported as refused.",
        text_label="Comment",
        text_required=True,
    ),
    "cancel": BulkAction(
        "Cancel",
        "will be cancelled. Their reservations are released, uncaptured "
        "authorizations voided and captured money refunded. Orders that have "
        "shipped in part are refused.",
        text_required=True,
    ),
    "release": BulkAction(
        "Release",
        "will be released to brokering from a parking, unfillable or rejected; "
        "orders in another queue are refused.",
    ),
    "hold": BulkAction(
        "Hold",
        "will be held in unfillable hold (no auto-cancel); only unfillable "
        "orders can be held.",
    ),
    "unhold": BulkAction(
        "Unhold",
        "will go back to unfillable with a fresh auto-cancel date; only held "
        "orders can be unheld.",
    ),
    "reroute": BulkAction(
        "Re-route",
        "will be taken back from the locations that have not accepted them yet "
        "and routed again; requests already accepted stay.",
    ),
}


def _order_url(order: Order) -> str:
    return reverse("orders:order-detail", args=[order.number])


def order_or_404(number: str) -> Order:
    """The order for a page, or the 404 page (other apps' pages use it too)."""
    try:
        return selectors.order_get(number=number)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _quantities(post, order: Order) -> dict[int, int]:
    """`qty-<line id>` fields of a posted form; blanks and zeros are ignored."""
    quantities = {}
    for line in order.lines.all():
        if count := int_param(post.get(f"qty-{line.pk}")):
            quantities[line.pk] = count
    return quantities


class OrderListView(RoleRequiredMixin, TemplateView):
    template_name = "orders/order_list.html"
    allowed_roles = ORDER_ROLES

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = OrderFilterForm(self.request.GET or None)
        # A filter that cannot be read lists nothing (the form says why): listing
        # every order instead would look like the filtered list.
        orders = (
            selectors.order_list(filters=self.request.GET)
            if filters_readable(form)
            else Order.objects.none()
        )
        page = keyset_page(orders, self.request.GET, size=PAGE_SIZE)
        context.update(form=form, page=page)
        return context


def filters_readable(form: OrderFilterForm) -> bool:
    return not form.is_bound or form.is_valid()


class OrderBulkView(RoleRequiredMixin, View):
    """Bulk actions on the selected orders: a confirmation saying how many orders
    and what will happen, then a background job (a dry run first, or for real) and
    its page with the progress and each order's result."""

    allowed_roles = ORDER_ROLES

    def post(self, request):
        action = request.POST.get("action", "")
        numbers = list(dict.fromkeys(request.POST.getlist("orders")))
        back = reverse("orders:order-list")
        if action not in BULK_ACTIONS or not numbers:
            messages.error(request, "Choose an action and at least one order.")
            return redirect(back)
        text = request.POST.get("text", "").strip()
        mode = request.POST.get("mode", "")
        needs_text = BULK_ACTIONS[action].text_required
        if mode in ("dry_run", "run") and (text or not needs_text):
            started = start_job(
                request,
                kind=f"orders.{action}",
                rows=[{"number": number} for number in numbers],
                params={"reason": text, "comment": text},
                dry_run=mode == "dry_run",
                source=f"orders list, {len(numbers)} selected",
            )
            if started:
                return started
        return render(
            request,
            "orders/bulk_confirm.html",
            {
                "action": action,
                "bulk": BULK_ACTIONS[action],
                "orders": Order.objects.filter(number__in=numbers).order_by("id"),
                "numbers": numbers,
                "missing_text": bool(mode) and needs_text and not text,
            },
        )


class OrderDetailView(RoleRequiredMixin, TemplateView):
    template_name = "orders/order_detail.html"
    allowed_roles = ORDER_ROLES

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        order = order_or_404(self.kwargs["number"])
        lines = list(order.lines.all())
        allowed = set(allowed_transitions(order))
        cancellable = "cancel" in allowed and any(
            line.quantity_cancellable for line in lines
        )
        shipped = any(
            line.quantity_fulfilled or line.quantity_returned for line in lines
        )
        credited = sum(
            (line.credited_amount for line in lines), order.shipping_credited
        )
        account = order_account(order)
        # Cancelling units needs the money held: while the authorization is
        # pending, only the whole order can be cancelled (which gives it up).
        payment_pending = account is not None and account.status == (
            PaymentAccount.Status.PENDING_AUTHORIZATION
        )
        context.update(
            order=order,
            lines=lines,
            version=services.order_version(order=order, lines=lines),
            account=account,
            timeline=selectors.order_timeline(order=order),
            can_edit=order.in_grace_period,
            can_approve="approve" in allowed,
            can_cancel=cancellable and not shipped,
            cancel_gives_back=services.order_cancel_gives_back(
                order=order, lines=lines, account=account
            ),
            can_cancel_items=cancellable and not payment_pending,
            units_wait_for_payment=cancellable and payment_pending,
            swap_form=SwapForm(order=order) if cancellable else None,
            credited=credited,
            # A replacement's exchange credit was paid by the items returned.
            net=max(order.amount_to_pay - credited, 0),
            fulfillment_requests=order_fulfillment(order=order),
            short_lines=order_short_lines(order=order, lines=lines),
        )
        return context


class OrderEditView(RoleRequiredMixin, View):
    """Contact, address, shipping method, notes and, while nothing of them was
    cancelled or swapped, the lines (all replaced when any row changed)."""

    allowed_roles = ORDER_ROLES
    template_name = "orders/order_edit.html"

    def get(self, request, number: str):
        order = order_or_404(number)
        if not order.in_grace_period:
            messages.error(
                request,
                f"Order {order.number} is past its grace period and can no longer be "
                "edited.",
            )
            return redirect(_order_url(order))
        version = services.order_version(order=order, lines=order.lines.all())
        return self._page(
            request,
            order,
            OrderEditForm(instance=order, initial={"version": version}),
            order_lines_formset(order),
        )

    def post(self, request, number: str):
        order = order_or_404(number)
        form = OrderEditForm(request.POST, instance=Order.objects.get(pk=order.pk))
        lines = order_lines_formset(order, request.POST)
        replaceable = not self._lines_refusal(order)
        if not form.is_valid() or (replaceable and not lines.is_valid()):
            return self._page(request, order, form, lines)
        new_lines = lines.line_inputs() if replaceable and lines.has_changed() else None
        refusal = attempt_action(
            request,
            lambda: services.order_update(
                order=order,
                actor=request.user,
                lines=new_lines,
                expected_version=form.cleaned_data["version"] or None,
                **form.changes(),
            ),
        )
        if getattr(refusal, "code", None) == errors.ORDER_CHANGED:
            # Show the order as it is now; the message says what happened.
            return redirect(reverse("orders:order-edit", args=[order.number]))
        if refusal is not None:
            field_errors = getattr(refusal, "field_errors", {})
            for message in lines.add_service_errors(field_errors):
                messages.error(request, message)
            return self._page(request, order, form, lines)
        order.refresh_from_db(fields=["total"])
        total = quantize(order.total, order.currency)
        messages.success(
            request, f"Order {order.number} updated; total {total} {order.currency}."
        )
        return redirect(_order_url(order))

    def _page(self, request, order, form, lines):
        return render(
            request,
            self.template_name,
            {
                "order": order,
                "form": form,
                "lines": lines,
                "lines_refusal": self._lines_refusal(order),
            },
        )

    @staticmethod
    def _lines_refusal(order: Order) -> str:
        return services.lines_not_replaceable(order=order, lines=order.lines.all())


class OrderApproveView(RoleRequiredMixin, View):
    allowed_roles = ORDER_ROLES

    def post(self, request, number: str):
        order = order_or_404(number)
        comment = request.POST.get("comment", "")
        return run_action(
            request,
            lambda: services.order_approve(
                order=order, actor=request.user, comment=comment
            ),
            success=f"Order {order.number} approved.",
            redirect_to=_order_url(order),
        )


class OrderCancelView(RoleRequiredMixin, View):
    allowed_roles = ORDER_ROLES

    def post(self, request, number: str):
        order = order_or_404(number)
        reason = request.POST.get("reason", "").strip()
        if not reason:
            messages.error(request, "Give a reason for the cancellation.")
            return redirect(_order_url(order))
        return run_action(
            request,
            lambda: services.order_cancel(
                order=order,
                actor=request.user,
                reason=reason,
                expected_version=request.POST.get("version"),
            ),
            success=f"Order {order.number} cancelled.",
            redirect_to=_order_url(order),
        )


class OrderCancelItemsView(RoleRequiredMixin, View):
    """Two steps: the chosen quantities are previewed with the refund calculator
    (the amount that will be voided or refunded), then confirmed."""

    allowed_roles = ORDER_ROLES

    def post(self, request, number: str):
        order = order_or_404(number)
        quantities = _quantities(request.POST, order)
        reason = request.POST.get("reason", "").strip()
        lines = {line.pk: line for line in order.lines.all()}
        too_many = [
            lines[pk].sku
            for pk, count in quantities.items()
            if count > lines[pk].quantity_cancellable
        ]
        if not quantities or not reason or too_many:
            messages.error(
                request,
                f"Too many units of {', '.join(too_many)}."
                if too_many
                else "Choose quantities to cancel and give a reason.",
            )
            return redirect(_order_url(order))
        if request.POST.get("confirmed") != "yes":
            plan = selectors.order_refund_preview(order=order, quantities=quantities)
            rows = [
                (lines[pk], count, plan.lines.get(pk))
                for pk, count in quantities.items()
            ]
            account = order_account(order)
            return render(
                request,
                "orders/cancel_items_confirm.html",
                {
                    "order": order,
                    "rows": rows,
                    "plan": plan,
                    "reason": reason,
                    "captured": bool(account and account.captured_amount),
                    "version": services.order_version(
                        order=order, lines=lines.values()
                    ),
                },
            )
        return run_action(
            request,
            lambda: services.order_lines_cancel(
                order=order,
                quantities=quantities,
                actor=request.user,
                reason=reason,
                expected_version=request.POST.get("version"),
            ),
            success=f"Items of order {order.number} cancelled.",
            redirect_to=_order_url(order),
        )


class OrderSwapView(RoleRequiredMixin, View):
    """Two steps, as for cancelled items: the price difference is previewed (what
    will be authorized first, or given back), then the swap is confirmed."""

    allowed_roles = ORDER_ROLES

    def post(self, request, number: str):
        order = order_or_404(number)
        form = SwapForm(request.POST, order=order)
        if not form.is_valid():
            for field, errs in form.errors.items():
                label = form.fields[field].label if field in form.fields else field
                messages.error(request, f"{label}: {' '.join(errs)}")
            return redirect(_order_url(order))
        data = form.cleaned_data
        if request.POST.get("confirmed") != "yes":
            return self._preview(request, order, form)
        return run_action(
            request,
            lambda: services.order_items_swap(
                order=order,
                line_id=data["line_id"],
                new_sku=data["new_sku"].strip(),
                quantity=data["quantity"],
                new_unit_price=data["new_unit_price"],
                actor=request.user,
                reason=data["reason"],
                expected_version=request.POST.get("version"),
            ),
            success=f"Items of order {order.number} swapped for {data['new_sku']}.",
            redirect_to=_order_url(order),
        )

    @staticmethod
    def _preview(request, order: Order, form: SwapForm):
        data = form.cleaned_data
        line = form.lines[data["line_id"]]
        price = data["new_unit_price"]
        if price is None:
            price = line.unit_price
        amounts = services.line_swap_amounts(
            order=order, line=line, units=data["quantity"], new_unit_price=price
        )
        return render(
            request,
            "orders/swap_confirm.html",
            {
                "order": order,
                "line": line,
                "data": data,
                "new_unit_price": price,
                "amounts": amounts,
                "give_back": -amounts.difference,
                "captured": bool(
                    (account := order_account(order)) and account.captured_amount
                ),
                "version": services.order_version(order=order, lines=order.lines.all()),
            },
        )


class OrderExportView(RoleRequiredMixin, View):
    """The orders list with its filters, as a streamed CSV."""

    allowed_roles = ORDER_ROLES

    def get(self, request):
        if not filters_readable(OrderFilterForm(request.GET or None)):
            # The list shows what is wrong with the filters.
            return redirect(f"{reverse('orders:order-list')}?{request.GET.urlencode()}")
        return export_response(
            filename="orders.csv",
            queryset=selectors.order_list(filters=request.GET),
            columns={
                "number": lambda o: o.number,
                "external_id": lambda o: o.external_id,
                "placed_at": lambda o: o.placed_at.isoformat(),
                "channel": lambda o: o.channel.code,
                "type": lambda o: o.order_type_id,
                "customer_name": lambda o: o.customer_name,
                "customer_email": lambda o: o.customer_email,
                "total": lambda o: quantize(o.total, o.currency),
                "currency": lambda o: o.currency,
                "status": lambda o: o.status,
                "queue": lambda o: o.queue,
            },
        )
