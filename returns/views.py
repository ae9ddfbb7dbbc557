"""Returns pages: the list with filters, a return's detail (items, checks, refund,
restock, retry), and "Return items" for an order with the refund preview before
confirming. The same services as the API."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from inventory.models import Location
from inventory.selectors import locations_for_user
from oms.backoffice.access import RoleRequiredMixin, run_action
from oms.backoffice.keyset import keyset_page
from oms.errors import ApplicationError, NotFound
from oms.exports import export_response
from oms.params import text_param
from oms.roles import Role, has_role
from oms.selectors import entity_timeline
from orders.selectors import order_get
from orders.views import ORDER_ROLES, order_or_404
from payments.money import quantize
from returns import selectors, services
from returns.api import ReturnFilterSerializer, ReturnRetrySerializer
from returns.forms import ReturnItemsForm
from returns.models import ReturnReason, ReturnStatus

RETURN_ROLES = (Role.CSR, Role.STORE_ASSOCIATE)
CORRECTION_ROLES = (Role.CSR,)
FILTERS = ("status", "location", "reason", "order", "created_from", "created_to")


class ReturnListView(RoleRequiredMixin, TemplateView):
    template_name = "returns/return_list.html"
    allowed_roles = RETURN_ROLES

    def get(self, request, *args, **kwargs):
        if number := text_param(request.GET, "return_order"):
            try:
                order = order_get(number=number)
            except NotFound:
                messages.error(request, f"No order {number}.")
            else:
                return redirect("returns:return-create", number=order.number)
        return super().get(request, *args, **kwargs)

    def _valid_filters(self, filters: dict[str, str]) -> dict[str, str] | None:
        """The filters checked as the API checks them; None (and a message per
        field) when one is invalid, so the page lists nothing rather than all."""
        serializer = ReturnFilterSerializer(
            data={key: value for key, value in filters.items() if value}
        )
        if serializer.is_valid():
            return {key: str(value) for key, value in serializer.validated_data.items()}
        for field, errors in serializer.errors.items():
            label = field.replace("_", " ").capitalize()
            messages.error(self.request, f"{label}: {' '.join(errors)}")
        return None

    def _filters(self) -> dict[str, str]:
        return {key: text_param(self.request.GET, key) for key in FILTERS}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filters = self._filters()
        valid = self._valid_filters(filters)
        user = self.request.user
        locations = (
            Location.objects.all()
            if has_role(user, Role.CSR)
            else locations_for_user(user=user)
        )
        context.update(
            returns=keyset_page(
                selectors.return_list(user=user, filters=valid), self.request.GET
            )
            if valid is not None
            else [],
            filters=filters,
            statuses=ReturnStatus.choices,
            reasons=ReturnReason.choices,
            locations=locations.order_by("code"),
        )
        return context


def _preview_rows(form: ReturnItemsForm, settlement: services.Settlement) -> list:
    """Per returned line of the preview: its value, what of it pays for the
    replacement, and what is refunded."""
    units = form.units()
    return [
        {
            "line": line,
            "units": units[line.pk],
            "value": settlement.plan.lines[line.pk],
            "credit": settlement.credits.get(line.pk, 0),
            "refund": settlement.refund_of(line.pk),
        }
        for line in form.lines
        if line.pk in units
    ]


def _with_field_errors(exc: ApplicationError) -> str:
    details = [" ".join(errors) for errors in (exc.field_errors or {}).values()]
    return " ".join([exc.message, *details])


def _processed_message(ret) -> str:
    message = (
        f"Return {ret.rma_number} processed: "
        f"{ret.total_refund_amount:.2f} {ret.currency} refunded."
    )
    if ret.replacement_order:
        message += (
            f" Replacement order {ret.replacement_order.number} created, "
            f"{ret.total_credit_amount:.2f} {ret.currency} paid by the items returned."
        )
    return message


class ReturnCreateView(RoleRequiredMixin, View):
    """Choose lines, quantities, reasons, condition, exchanges and the receiving
    location; "Preview refund" shows the money (shipping included when it is the
    last item; what pays for a replacement instead of being refunded), "Confirm
    return" submits it."""

    template_name = "returns/return_create.html"
    allowed_roles = RETURN_ROLES

    def get(self, request, number: str):
        order = order_or_404(number)
        form = ReturnItemsForm(order=order, user=request.user)
        return render(request, self.template_name, {"order": order, "form": form})

    def post(self, request, number: str):
        order = order_or_404(number)
        form = ReturnItemsForm(request.POST, order=order, user=request.user)
        context = {"order": order, "form": form}
        if form.is_valid():
            if "confirm" in request.POST:
                try:
                    ret, _ = services.return_create(
                        order=order,
                        items=form.items(),
                        location=form.cleaned_data["location"],
                        actor=request.user,
                    )
                except ApplicationError as exc:
                    form.add_error(None, _with_field_errors(exc))
                else:
                    if ret.status == ReturnStatus.PROCESSED:
                        messages.success(request, _processed_message(ret))
                    else:
                        messages.error(
                            request,
                            f"Return {ret.rma_number} failed its checks; see why "
                            "below.",
                        )
                    return redirect(ret.get_absolute_url())
            else:
                try:
                    settlement = services.return_preview(
                        order=order, items=form.items()
                    )
                except ApplicationError as exc:
                    form.add_error(None, _with_field_errors(exc))
                else:
                    context.update(
                        settlement=settlement,
                        preview_rows=_preview_rows(form, settlement),
                    )
        return render(request, self.template_name, context)


class ReturnDetailView(RoleRequiredMixin, TemplateView):
    template_name = "returns/return_detail.html"
    allowed_roles = RETURN_ROLES

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            ret = selectors.return_get(
                user=self.request.user, return_id=self.kwargs["pk"]
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        context.update(
            ret=ret,
            refunds=selectors.return_refund_transactions(return_request=ret),
            can_correct=ret.status == ReturnStatus.FAILED
            and has_role(self.request.user, *CORRECTION_ROLES),
            can_open_order=has_role(self.request.user, *ORDER_ROLES),
            timeline=entity_timeline(entity_type="return", entity_id=ret.pk),
        )
        return context


class ReturnRetryView(RoleRequiredMixin, View):
    allowed_roles = CORRECTION_ROLES

    def post(self, request, pk: int):
        try:
            ret = selectors.return_get(user=request.user, return_id=pk)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        back = reverse("returns:return-detail", args=[pk])
        correction = ReturnRetrySerializer(
            data={
                "window_extension_days": request.POST.get("window_extension_days") or 0,
                "comment": text_param(request.POST, "comment"),
            }
        )
        if not correction.is_valid():
            for errors in correction.errors.values():
                messages.error(request, " ".join(errors))
            return redirect(back)
        return run_action(
            request,
            lambda: services.return_retry(
                return_request=ret, actor=request.user, **correction.validated_data
            ),
            success=f"Return {ret.rma_number} checked again; see the result below.",
            redirect_to=back,
        )


class ReturnExportView(ReturnListView):
    """The returns list with its filters, as a streamed CSV (an invalid filter:
    back to the list with its message)."""

    def get(self, request, *args, **kwargs):
        valid = self._valid_filters(self._filters())
        if valid is None:
            return redirect("returns:return-list")
        return export_response(
            filename="returns.csv",
            queryset=selectors.return_list(user=request.user, filters=valid),
            columns={
                "rma_number": lambda r: r.rma_number,
                "order": lambda r: r.order.number if r.order else "",
                "channel": lambda r: r.channel.code,
                "location": lambda r: r.location.code,
                "status": lambda r: r.status,
                "total_refund_amount": lambda r: quantize(
                    r.total_refund_amount, r.currency
                ),
                "currency": lambda r: r.currency,
                "created_at": lambda r: r.created_at.isoformat(),
            },
        )
