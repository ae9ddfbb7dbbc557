"""Back-office pages of the inventory app: the same services as the API."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View
from django.views.generic import FormView, TemplateView

from inventory import selectors, services
from inventory.forms import (
    LEDGER_TYPES,
    AdjustmentForm,
    CycleCountForm,
    StockSyncForm,
    TransferOrderForm,
)
from inventory.jobs import StockSyncJob
from inventory.models import Asn, CycleCount, Location, Receipt, TransferOrder
from oms.backoffice.access import RoleRequiredMixin, run_action
from oms.backoffice.jobs import job_url
from oms.backoffice.keyset import keyset_page
from oms.errors import ApplicationError, PermissionDenied
from oms.exports import export_response
from oms.jobs import job_kind
from oms.params import int_param, text_param
from oms.roles import Role, has_role
from oms.selectors import entity_timeline, job_list
from oms.services.events import entity_type_of
from oms.services.jobs import job_create, job_rows_from_csv
from oms.services.transitions import allowed_transitions

READ_ROLES = (Role.CSR, Role.STORE_ASSOCIATE, Role.INVENTORY_MANAGER)
STAFF_ROLES = (Role.STORE_ASSOCIATE, Role.INVENTORY_MANAGER)
MANAGER_ROLES = (Role.INVENTORY_MANAGER,)
PAGE_SIZE = 50


def _page(request, queryset):
    return keyset_page(queryset, request.GET, size=PAGE_SIZE)


class ListPageMixin:
    """Gives list templates the current filters as `query` for the pager links."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET.copy()
        params.pop("page", None)
        context["query"] = params.urlencode()
        return context


def _guarded(request, location: Location, action):
    """Run `action` only where the user may act (store associates: their own
    locations), so pages refuse what the API refuses."""

    def run():
        if not selectors.user_may_act_at(user=request.user, location=location):
            raise PermissionDenied(f"You are not assigned to location {location.code}.")
        return action()

    return run


def _act_for_form(request, form, location: Location, action):
    """A form page's guarded service call: its result, or None with the refusal
    shown as the form's error."""
    try:
        return _guarded(request, location, action)()
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return None


class StockListView(RoleRequiredMixin, ListPageMixin, TemplateView):
    """Stock search by location and product."""

    template_name = "inventory/stock_list.html"
    allowed_roles = READ_ROLES

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET
        context.update(
            location=text_param(params, "location"),
            q=text_param(params, "q").strip(),
            in_stock=params.get("in_stock") == "1",
            locations=Location.objects.all(),
        )
        context["page"] = _page(
            self.request,
            selectors.stock_list(
                location_code=context["location"],
                search=context["q"],
                in_stock=context["in_stock"],
            ).order_by(
                "product__sku",
                "location__routing_priority",
                "location__code",
                "id",
            ),
        )
        return context


class LedgerView(RoleRequiredMixin, ListPageMixin, TemplateView):
    """The ledger per product and/or location."""

    template_name = "inventory/ledger.html"
    allowed_roles = READ_ROLES

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET
        context.update(
            location=text_param(params, "location"),
            sku=text_param(params, "sku").strip(),
            type=text_param(params, "type"),
            types=LEDGER_TYPES,
            locations=Location.objects.all(),
        )
        context["page"] = _page(self.request, _ledger_listed(self.request))
        return context


def _ledger_listed(request):
    """The ledger rows the filters of the page choose, at the user's locations."""
    params = request.GET
    return selectors.visible_to(
        selectors.ledger_list(
            location_code=text_param(params, "location"),
            sku=text_param(params, "sku").strip(),
            type=text_param(params, "type"),
        ),
        user=request.user,
    )


class LedgerExportView(RoleRequiredMixin, View):
    """The ledger with its filters, as a streamed CSV."""

    allowed_roles = READ_ROLES

    def get(self, request):
        return export_response(
            filename="ledger.csv",
            queryset=_ledger_listed(request),
            columns={
                "id": lambda t: t.pk,
                "created_at": lambda t: t.created_at.isoformat(),
                "location": lambda t: t.location.code,
                "sku": lambda t: t.product.sku,
                "type": lambda t: t.type,
                "reason": lambda t: t.reason,
                "quantity": lambda t: t.quantity,
                "on_hand_after": lambda t: t.on_hand_after,
                "reference": lambda t: t.reference,
                "actor": lambda t: t.actor.get_username() if t.actor else "",
            },
        )


# Transfer orders ----------------------------------------------------------------------


class TransferOrderListView(RoleRequiredMixin, ListPageMixin, TemplateView):
    template_name = "inventory/transfer_order_list.html"
    allowed_roles = READ_ROLES

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        status = text_param(self.request.GET, "status")
        overdue = self.request.GET.get("overdue") == "1"
        context.update(
            status=status,
            overdue=overdue,
            statuses=TransferOrder.Status.choices,
            page=_page(
                self.request,
                selectors.visible_to(
                    selectors.transfer_order_list(status=status, overdue=overdue),
                    user=self.request.user,
                    through=selectors.TRANSFER_ORDER_ENDS,
                ),
            ),
        )
        return context


class TransferOrderCreateView(RoleRequiredMixin, FormView):
    template_name = "inventory/transfer_order_form.html"
    allowed_roles = STAFF_ROLES
    form_class = TransferOrderForm

    def form_valid(self, form):
        data = form.cleaned_data
        transfer_order = _act_for_form(
            self.request,
            form,
            data["origin"],
            lambda: services.transfer_order_create(
                origin=data["origin"],
                destination=data["destination"],
                items=data["items"],
                expected_at=data["expected_at"],
                actor=self.request.user,
            ),
        )
        if transfer_order is None:
            return self.form_invalid(form)
        messages.success(
            self.request, f"Transfer order {transfer_order.number} created."
        )
        return redirect("inventory:transfer-order-detail", pk=transfer_order.pk)


def _detail_context(instance) -> dict:
    return {
        "allowed": allowed_transitions(instance),
        "timeline": entity_timeline(
            entity_type=entity_type_of(instance), entity_id=instance.pk
        ),
    }


class TransferOrderDetailView(RoleRequiredMixin, TemplateView):
    template_name = "inventory/transfer_order_detail.html"
    allowed_roles = READ_ROLES

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        transfer_order = selectors.visible_transfer_order_or_404(
            self.request.user,
            TransferOrder.objects.select_related("origin", "destination"),
            kwargs["pk"],
        )
        context.update(_detail_context(transfer_order))
        context.update(
            transfer_order=transfer_order,
            preview=selectors.transfer_order_close_preview(
                transfer_order=transfer_order
            ),
            asn=Asn.objects.filter(transfer_order=transfer_order).first(),
            is_manager=has_role(self.request.user, *MANAGER_ROLES),
        )
        return context


class TransferOrderShipView(RoleRequiredMixin, View):
    allowed_roles = STAFF_ROLES

    def post(self, request, pk: int):
        transfer_order = selectors.visible_transfer_order_or_404(
            request.user, TransferOrder.objects.select_related("origin"), pk
        )
        return run_action(
            request,
            _guarded(
                request,
                transfer_order.origin,
                lambda: services.transfer_order_ship(
                    transfer_order=transfer_order,
                    carrier=request.POST.get("carrier", ""),
                    tracking_number=request.POST.get("tracking_number", ""),
                    actor=request.user,
                ),
            ),
            success=f"{transfer_order.number} shipped.",
            redirect_to=reverse("inventory:transfer-order-detail", args=[pk]),
        )


class TransferOrderReceiveView(RoleRequiredMixin, View):
    allowed_roles = STAFF_ROLES

    def post(self, request, pk: int):
        transfer_order = selectors.visible_transfer_order_or_404(
            request.user, TransferOrder.objects.select_related("destination"), pk
        )
        items = [
            services.ItemQuantity(line.product, units)
            for line in transfer_order.lines.select_related("product")
            if (
                units := int_param(
                    request.POST.get(f"receive-{line.pk}"), maximum=services.MAX_UNITS
                )
            )
        ]
        return run_action(
            request,
            _guarded(
                request,
                transfer_order.destination,
                lambda: services.transfer_order_receive(
                    transfer_order=transfer_order, items=items, actor=request.user
                ),
            ),
            success=f"Units received for {transfer_order.number}.",
            redirect_to=reverse("inventory:transfer-order-detail", args=[pk]),
        )


class TransferOrderCloseView(RoleRequiredMixin, TemplateView):
    """GET: what closing will do; POST: close."""

    template_name = "inventory/transfer_order_close.html"
    allowed_roles = MANAGER_ROLES

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        transfer_order = get_object_or_404(
            TransferOrder.objects.select_related("origin", "destination"),
            pk=kwargs["pk"],
        )
        preview = selectors.transfer_order_close_preview(transfer_order=transfer_order)
        context.update(
            transfer_order=transfer_order,
            preview=preview,
            can_close="close" in allowed_transitions(transfer_order),
            cancel_total=sum(row["cancel"] for row in preview),
            missing_total=sum(row["not_received"] for row in preview),
            release_total=sum(row["release"] for row in preview),
        )
        return context

    def post(self, request, pk: int):
        transfer_order = get_object_or_404(TransferOrder, pk=pk)
        return run_action(
            request,
            lambda: services.transfer_order_close(
                transfer_order=transfer_order,
                actor=request.user,
                reason=request.POST.get("reason", "").strip(),
            ),
            success=f"{transfer_order.number} closed.",
            redirect_to=reverse("inventory:transfer-order-detail", args=[pk]),
        )


# ASNs ---------------------------------------------------------------------------------


class AsnListView(RoleRequiredMixin, ListPageMixin, TemplateView):
    template_name = "inventory/asn_list.html"
    allowed_roles = READ_ROLES

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        status = text_param(self.request.GET, "status")
        context.update(
            status=status,
            statuses=Asn.Status.choices,
            page=_page(
                self.request,
                selectors.visible_to(
                    selectors.asn_list(status=status), user=self.request.user
                ),
            ),
        )
        return context


class AsnDetailView(RoleRequiredMixin, TemplateView):
    template_name = "inventory/asn_detail.html"
    allowed_roles = READ_ROLES

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        asn = selectors.visible_or_404(
            self.request.user,
            Asn.objects.select_related("location", "transfer_order"),
            kwargs["pk"],
        )
        context.update(_detail_context(asn))
        context.update(
            asn=asn,
            lines=asn.lines.select_related("product"),
            is_manager=has_role(self.request.user, *MANAGER_ROLES),
        )
        return context


class AsnReceiveView(RoleRequiredMixin, View):
    allowed_roles = STAFF_ROLES

    def post(self, request, pk: int):
        asn = selectors.visible_or_404(
            request.user, Asn.objects.select_related("location"), pk
        )
        items = [
            services.ItemQuantity(line.product, units)
            for line in asn.lines.select_related("product")
            if (
                units := int_param(
                    request.POST.get(f"receive-{line.pk}"), maximum=services.MAX_UNITS
                )
            )
        ]
        return run_action(
            request,
            _guarded(
                request,
                asn.location,
                lambda: services.items_receive(
                    location=asn.location,
                    reference_type=Receipt.ReferenceType.ASN,
                    reference=asn.number,
                    items=items,
                    allow_over_receipt=request.POST.get("allow_over_receipt") == "1",
                    actor=request.user,
                ),
            ),
            success=f"Units received against {asn.number}.",
            redirect_to=reverse("inventory:asn-detail", args=[pk]),
        )


class AsnCloseView(RoleRequiredMixin, TemplateView):
    """GET: what closing will do; POST: close."""

    template_name = "inventory/asn_close.html"
    allowed_roles = MANAGER_ROLES

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        asn = get_object_or_404(Asn.objects.select_related("location"), pk=kwargs["pk"])
        lines = list(asn.lines.select_related("product"))
        context.update(
            asn=asn,
            lines=lines,
            can_close="close" in allowed_transitions(asn),
            outstanding_total=sum(line.outstanding for line in lines),
        )
        return context

    def post(self, request, pk: int):
        asn = get_object_or_404(Asn, pk=pk)
        return run_action(
            request,
            lambda: services.asn_close(
                asn=asn, actor=request.user, reason=request.POST.get("reason", "")
            ),
            success=f"{asn.number} closed.",
            redirect_to=reverse("inventory:asn-detail", args=[pk]),
        )


# Adjustments --------------------------------------------------------------------------


class AdjustmentCreateView(RoleRequiredMixin, FormView):
    template_name = "inventory/adjustment_form.html"
    allowed_roles = STAFF_ROLES
    form_class = AdjustmentForm

    def get_initial(self):
        return {key: self.request.GET.get(key, "") for key in ("location", "sku")}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["recent"] = selectors.visible_to(
            selectors.ledger_list(type="adjustment"), user=self.request.user
        )[:20]
        return context

    def form_valid(self, form):
        data = form.cleaned_data
        row = _act_for_form(
            self.request,
            form,
            data["location"],
            lambda: services.adjustment_create(
                location=data["location"],
                product=data["sku"],
                quantity=data["quantity"],
                reason=data["reason"],
                note=data["note"],
                actor=self.request.user,
            ),
        )
        if row is None:
            return self.form_invalid(form)
        messages.success(
            self.request,
            f"Adjusted {data['sku'].sku} at {data['location'].code} by "
            f"{row.quantity:+d}; {row.on_hand_after} on hand now.",
        )
        return redirect("inventory:adjustment-create")


# Cycle counts -------------------------------------------------------------------------


class CycleCountListView(RoleRequiredMixin, ListPageMixin, TemplateView):
    template_name = "inventory/cycle_count_list.html"
    allowed_roles = STAFF_ROLES

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        status = text_param(self.request.GET, "status")
        context.update(
            status=status,
            statuses=CycleCount.Status.choices,
            page=_page(
                self.request,
                selectors.visible_to(
                    selectors.cycle_count_list(status=status), user=self.request.user
                ),
            ),
        )
        return context


class CycleCountCreateView(RoleRequiredMixin, FormView):
    template_name = "inventory/cycle_count_form.html"
    allowed_roles = STAFF_ROLES
    form_class = CycleCountForm

    def form_valid(self, form):
        data = form.cleaned_data
        cycle_count = _act_for_form(
            self.request,
            form,
            data["location"],
            lambda: services.cycle_count_create(
                location=data["location"],
                products=data["skus"],
                note=data["note"],
                actor=self.request.user,
            ),
        )
        if cycle_count is None:
            return self.form_invalid(form)
        messages.success(self.request, f"Count {cycle_count.pk} opened.")
        return redirect("inventory:cycle-count-detail", pk=cycle_count.pk)


class CycleCountDetailView(RoleRequiredMixin, TemplateView):
    """Entry of counted units while open; review with discrepancies once counted."""

    template_name = "inventory/cycle_count_detail.html"
    allowed_roles = STAFF_ROLES

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        cycle_count = selectors.visible_or_404(
            self.request.user,
            CycleCount.objects.select_related("location", "recount_of"),
            kwargs["pk"],
        )
        lines = selectors.discrepancy_lines(cycle_count)
        context.update(_detail_context(cycle_count))
        context.update(
            cycle_count=cycle_count,
            lines=lines,
            discrepancies=[line for line in lines if line.discrepancy],
            recount=CycleCount.objects.filter(recount_of=cycle_count).first(),
            is_manager=has_role(self.request.user, *MANAGER_ROLES),
        )
        return context


class CycleCountSubmitView(RoleRequiredMixin, View):
    allowed_roles = STAFF_ROLES

    def post(self, request, pk: int):
        cycle_count = selectors.visible_or_404(
            request.user, CycleCount.objects.select_related("location"), pk
        )
        counts = {}
        for line in cycle_count.lines.all():
            units = int_param(
                request.POST.get(f"count-{line.pk}"), maximum=services.MAX_UNITS
            )
            if units is not None:
                counts[line.product_id] = units
        return run_action(
            request,
            _guarded(
                request,
                cycle_count.location,
                lambda: services.cycle_count_submit(
                    cycle_count=cycle_count, counts=counts, actor=request.user
                ),
            ),
            success=f"Count {pk} submitted for review.",
            redirect_to=reverse("inventory:cycle-count-detail", args=[pk]),
        )


class CycleCountReviewView(RoleRequiredMixin, View):
    """Approve (post the discrepancies) or reject (open a recount)."""

    allowed_roles = MANAGER_ROLES

    def post(self, request, pk: int):
        cycle_count = get_object_or_404(CycleCount, pk=pk)
        reason = request.POST.get("reason", "").strip()
        if request.POST.get("decision") == "approve":
            return run_action(
                request,
                lambda: services.cycle_count_approve(
                    cycle_count=cycle_count, actor=request.user, reason=reason
                ),
                success=f"Count {pk} approved; discrepancies posted to stock.",
                redirect_to=reverse("inventory:cycle-count-detail", args=[pk]),
            )
        return run_action(
            request,
            lambda: services.cycle_count_reject(
                cycle_count=cycle_count, actor=request.user, reason=reason
            ),
            success=f"Count {pk} rejected; a recount was opened.",
            redirect_to=reverse("inventory:cycle-count-detail", args=[pk]),
        )


# Stock sync ---------------------------------------------------------------------------


class StockSyncView(RoleRequiredMixin, FormView):
    """Upload an ERP stock file: it becomes a background job (a dry run first if
    asked), whose page shows the progress and each row's result."""

    template_name = "inventory/sync.html"
    allowed_roles = MANAGER_ROLES
    form_class = StockSyncForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["syncs"] = selectors.stock_sync_list()[:20]
        context["jobs"] = job_list(user=self.request.user).filter(
            kind=StockSyncJob.name
        )[:20]
        return context

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        try:
            job = job_create(
                kind=StockSyncJob.name,
                rows=job_rows_from_csv(upload.file, kind=job_kind(StockSyncJob.name)),
                actor=self.request.user,
                dry_run=form.cleaned_data["dry_run"],
                source=f"upload {upload.name}",
            )
        except ApplicationError as exc:
            form.add_error("file", exc.message)
            return self.form_invalid(form)
        return redirect(job_url(job))


class StockSyncDetailView(RoleRequiredMixin, TemplateView):
    template_name = "inventory/sync_detail.html"
    allowed_roles = MANAGER_ROLES

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sync"] = get_object_or_404(
            selectors.stock_sync_list(), pk=kwargs["pk"]
        )
        return context
