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
from oms.errors import ApplicationError, NotFound
from oms.roles import Role, has_role
from oms.selectors import entity_timeline
from orders.selectors import order_get
from returns import selectors, services
from returns.forms import ReturnItemsForm
from returns.models import ReturnReason, ReturnStatus

RETURN_ROLES = (Role.CSR, Role.STORE_ASSOCIATE)
CORRECTION_ROLES = (Role.CSR,)
FILTERS = ("status", "location", "reason", "order", "created_from", "created_to")


class ReturnListView(RoleRequiredMixin, TemplateView):
    template_name = "returns/return_list.html"
    allowed_roles = RETURN_ROLES

    def get(self, request, *args, **kwargs):
        if number := request.GET.get("return_order", "").strip():
            return redirect("returns:return-create", number=number)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filters = {key: self.request.GET.get(key, "") for key in FILTERS}
        user = self.request.user
        locations = (
            Location.objects.all()
            if has_role(user, Role.CSR)
            else locations_for_user(user=user)
        )
        context.update(
            returns=selectors.return_list(user=user, filters=filters)[:100],
            filters=filters,
            statuses=ReturnStatus.choices,
            reasons=ReturnReason.choices,
            locations=locations.order_by("code"),
        )
        return context


class ReturnCreateView(RoleRequiredMixin, View):
    """Choose lines, quantities, reasons, condition and the receiving location;
    "Preview refund" shows the money (shipping included when it is the last item),
    "Confirm return" submits it."""

    template_name = "returns/return_create.html"
    allowed_roles = RETURN_ROLES

    def _order(self, number: str):
        try:
            return order_get(number=number)
        except NotFound as exc:
            raise Http404(exc.message) from exc

    def get(self, request, number: str):
        order = self._order(number)
        form = ReturnItemsForm(order=order, user=request.user)
        return render(request, self.template_name, {"order": order, "form": form})

    def post(self, request, number: str):
        order = self._order(number)
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
                    form.add_error(None, exc.message)
                else:
                    if ret.status == ReturnStatus.PROCESSED:
                        messages.success(
                            request,
                            f"Return {ret.rma_number} processed: "
                            f"{ret.total_refund_amount:.2f} {ret.currency} refunded.",
                        )
                    else:
                        messages.error(
                            request,
                            f"Return {ret.rma_number} failed its checks; see why "
                            "below.",
                        )
                    return redirect(ret.get_absolute_url())
            else:
                context["plan"] = selectors.return_refund_preview(
                    order=order, units=form.units()
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
        raw_days = request.POST.get("window_extension_days", "").strip() or "0"
        days = int(raw_days) if raw_days.isdigit() else -1
        return run_action(
            request,
            lambda: services.return_retry(
                return_request=ret,
                actor=request.user,
                window_extension_days=days,
                comment=request.POST.get("comment", ""),
            ),
            success=f"Return {ret.rma_number} checked again; see the result below.",
            redirect_to=reverse("returns:return-detail", args=[pk]),
        )
