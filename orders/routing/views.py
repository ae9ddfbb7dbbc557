"""Back-office pages of routing and fulfillment: rule sets, brokering runs (live
progress), queues with bulk moves, simulation, and the store associate's requests.
Thin: the same services and selectors as the API."""

import csv
import io

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from oms.backoffice.access import RoleRequiredMixin, run_action
from oms.backoffice.keyset import keyset_page
from oms.errors import ApplicationError
from oms.exports import export_response
from oms.params import int_param
from oms.roles import Role
from oms.services.transitions import allowed_transitions
from orders.models import Order
from orders.routing import selectors, services
from orders.routing.api import BrokeringRunSerializer, draft_rules
from orders.routing.forms import (
    AlternativeForm,
    QueueCsvForm,
    RejectForm,
    RuleSetForm,
    ShipForm,
    SimulationForm,
)
from orders.routing.models import FulfillmentRequest, RoutingRuleSet

CSR = (Role.CSR,)
STORE = (Role.STORE_ASSOCIATE, Role.CSR, Role.INVENTORY_MANAGER)
ADMIN = (Role.ADMIN,)
MOVES = {
    "release": (Order.Queue.BROKERING, "released to brokering"),
    "hold": (Order.Queue.UNFILLABLE_HOLD, "put on unfillable hold"),
    "unhold": (Order.Queue.UNFILLABLE, "moved back to unfillable"),
}


# Rule sets ----------------------------------------------------------------------------


class RuleSetListView(RoleRequiredMixin, TemplateView):
    template_name = "routing/rule_set_list.html"
    allowed_roles = ADMIN

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "rule_sets": selectors.rule_set_list(),
        }


class RuleSetEditView(RoleRequiredMixin, View):
    """Create (no pk) or edit a rule set, frequency included."""

    allowed_roles = ADMIN

    def _render(self, request, form, rule_set):
        return render(
            request,
            "routing/rule_set_form.html",
            {"form": form, "rule_set": rule_set},
        )

    def get(self, request, pk: int | None = None):
        rule_set = self._rule_set(pk)
        initial = RuleSetForm.initial_for(rule_set) if rule_set else None
        return self._render(request, RuleSetForm(initial=initial), rule_set)

    def post(self, request, pk: int | None = None):
        rule_set = self._rule_set(pk)
        form = RuleSetForm(request.POST)
        if form.is_valid():
            try:
                if rule_set:
                    services.rule_set_update(
                        rule_set=rule_set, actor=request.user, **form.rule_fields()
                    )
                else:
                    rule_set = services.rule_set_create(
                        actor=request.user, **form.rule_fields()
                    )
            except ApplicationError as exc:
                for field, errors in (exc.field_errors or {}).items():
                    form.add_error(field if field in form.fields else None, errors)
                messages.error(request, exc.message)
            else:
                messages.success(request, f"Rule set {rule_set.name} saved.")
                return redirect("fulfillment:rule-set-list")
        return self._render(request, form, rule_set)

    def _rule_set(self, pk):
        if pk is None:
            return None
        rule_set = RoutingRuleSet.objects.filter(pk=pk).first()
        if rule_set is None:
            raise Http404("No such rule set.")
        return rule_set


# Brokering runs -----------------------------------------------------------------------


class RunListView(RoleRequiredMixin, TemplateView):
    template_name = "routing/run_list.html"
    allowed_roles = CSR

    def get_context_data(self, **kwargs):
        page = keyset_page(selectors.brokering_run_list(), self.request.GET, size=25)
        return {
            **super().get_context_data(**kwargs),
            "page": page,
            "rule_sets": RoutingRuleSet.objects.filter(active=True).order_by("name"),
        }


class RunStartView(RoleRequiredMixin, View):
    allowed_roles = CSR

    def post(self, request):
        rule_set_id = int_param(request.POST.get("rule_set"))
        rule_set = (
            RoutingRuleSet.objects.filter(pk=rule_set_id).first()
            if rule_set_id is not None
            else None
        )
        if rule_set is None:
            messages.error(request, "Choose a rule set.")
            return redirect("fulfillment:run-list")
        return run_action(
            request,
            lambda: services.brokering_run_start(rule_set=rule_set, actor=request.user),
            success=f"Brokering run of {rule_set.name} started.",
            redirect_to=reverse("fulfillment:run-list"),
        )


class RunProgressView(RoleRequiredMixin, View):
    """The small JSON the progress bar polls."""

    allowed_roles = CSR

    def get(self, request, pk: int):
        run = selectors.brokering_run_list().filter(pk=pk).first()
        if run is None:
            raise Http404("No such run.")
        return JsonResponse(BrokeringRunSerializer(run).data)


# Queues -------------------------------------------------------------------------------


class QueueOverviewView(RoleRequiredMixin, TemplateView):
    template_name = "routing/queues.html"
    allowed_roles = CSR

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "queues": selectors.queue_sizes(),
            "csv_form": QueueCsvForm(),
        }


class QueueDetailView(RoleRequiredMixin, TemplateView):
    template_name = "routing/queue_detail.html"
    allowed_roles = CSR

    def get_context_data(self, **kwargs):
        queue = self.kwargs["queue"]
        if queue not in Order.Queue.values or not queue:
            raise Http404("No such queue.")
        page = keyset_page(
            selectors.queue_orders(queue=queue), self.request.GET, size=100
        )
        return {
            **super().get_context_data(**kwargs),
            "queue": queue,
            "label": Order.Queue(queue).label,
            "page": page,
            "moves": {
                "brokering": [],
                "unfillable": ["release", "hold"],
                "unfillable_hold": ["unhold", "release"],
                "pre_order": ["release"],
                "backorder": ["release"],
                "rejected": ["release"],
                "bopis_rejected": [],
            }[queue],
        }


def _report_move(request, result, verb: str) -> None:
    if result.moved:
        messages.success(request, f"{len(result.moved)} order(s) {verb}.")
    if result.unknown:
        messages.error(request, "Unknown order numbers: " + ", ".join(result.unknown))
    for number, why in result.refused.items():
        messages.error(request, f"{number} not moved: {why}")


class QueueMoveView(RoleRequiredMixin, View):
    """Bulk hold / unhold / release of the selected orders, or of the order numbers
    in an uploaded CSV (first column; a header row is ignored as unknown)."""

    allowed_roles = CSR

    def post(self, request):
        back = request.POST.get("back") or reverse("fulfillment:queues")
        if not back.startswith("/backoffice/"):
            back = reverse("fulfillment:queues")
        if "file" in request.FILES:
            form = QueueCsvForm(request.POST, request.FILES)
            if not form.is_valid():
                messages.error(request, "Choose a CSV file and an action.")
                return redirect(back)
            action = form.cleaned_data["action"]
            try:
                text = form.cleaned_data["file"].read().decode("utf-8-sig")
            except UnicodeDecodeError:
                messages.error(request, "The file is not UTF-8 text.")
                return redirect(back)
            numbers = [
                row[0].strip()
                for row in csv.reader(io.StringIO(text))
                if row and row[0].strip()
            ]
            if numbers and numbers[0].lower() in ("number", "order", "order_number"):
                numbers = numbers[1:]
        else:
            action = request.POST.get("action", "")
            numbers = request.POST.getlist("orders")
        if action not in MOVES:
            messages.error(request, "Choose an action.")
            return redirect(back)
        queue, verb = MOVES[action]
        try:
            result = services.orders_move_queue(
                numbers=numbers,
                queue=queue,
                actor=request.user,
                reason=request.POST.get("reason", "").strip()[:500],
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            _report_move(request, result, verb)
        return redirect(back)


def _order_or_404(number: str) -> Order:
    order = Order.objects.filter(number=number.replace("\x00", "")).first()
    if order is None or "\x00" in number:
        raise Http404("No such order.")
    return order


class AlternativeView(RoleRequiredMixin, View):
    """A CSR enters the customer's alternative for a rejected pickup."""

    allowed_roles = CSR

    def get(self, request, number: str):
        order = _order_or_404(number)
        return render(
            request,
            "routing/alternative.html",
            {"order": order, "form": AlternativeForm()},
        )

    def post(self, request, number: str):
        order = _order_or_404(number)
        form = AlternativeForm(request.POST)
        if not form.is_valid():
            return render(
                request, "routing/alternative.html", {"order": order, "form": form}
            )
        data = form.cleaned_data
        address = None
        if not data["pickup_location"] and data["address_line1"]:
            address = {
                key: data[key]
                for key in ("address_line1", "city", "postal_code", "country")
                if data[key]
            }
        return run_action(
            request,
            lambda: services.bopis_convert(
                order=order,
                actor=request.user,
                pickup_location=data["pickup_location"],
                shipping_address=address,
            ),
            success=f"Order {order.number} goes back to routing.",
            redirect_to=reverse("orders:order-detail", args=[order.number]),
        )


# Simulation ---------------------------------------------------------------------------


class SimulationView(RoleRequiredMixin, View):
    allowed_roles = CSR

    def get(self, request):
        live = selectors.live_rule_set()
        initial = RuleSetForm.initial_for(live) if live else {}
        initial["name"] = ""
        return render(
            request,
            "routing/simulate.html",
            {"form": SimulationForm(initial=initial), "live": live},
        )

    def post(self, request):
        form = SimulationForm(request.POST)
        live = selectors.live_rule_set()
        simulation = None
        if form.is_valid():
            rule_set = form.cleaned_data.get("rule_set")
            try:
                if rule_set:
                    rules, safety, queues = (
                        rule_set.engine_rules(),
                        rule_set.safety_stock_override,
                        rule_set.queues,
                    )
                else:
                    fields = form.rule_fields()
                    rules, safety = draft_rules(fields)
                    queues = fields["queues"]
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                simulation = selectors.routing_simulation(
                    rules=rules,
                    safety_stock_override=safety,
                    queues=queues,
                    order_numbers=form.numbers() or None,
                    live_rule_set=live,
                )
        return render(
            request,
            "routing/simulate.html",
            {"form": form, "live": live, "simulation": simulation},
        )


# Fulfillment requests -----------------------------------------------------------------


class RequestListView(RoleRequiredMixin, TemplateView):
    """A store associate's open requests at their locations, oldest first."""

    template_name = "routing/request_list.html"
    allowed_roles = STORE

    def get_context_data(self, **kwargs):
        status, requests = _requests_listed(self.request)
        page = keyset_page(requests, self.request.GET)
        return {**super().get_context_data(**kwargs), "page": page, "status": status}


def _requests_listed(request):
    """The status filter of the requests list and the requests it shows (the
    active ones when no status is chosen)."""
    status = request.GET.get("status", "")
    if status not in FulfillmentRequest.Status.values:
        status = ""
    return status, selectors.fulfillment_request_list(
        user=request.user, status=status, active=not status
    )


class RequestExportView(RoleRequiredMixin, View):
    """The requests list with its filter, as a streamed CSV."""

    allowed_roles = STORE

    def get(self, request):
        _, requests = _requests_listed(request)
        return export_response(
            filename="fulfillment-requests.csv",
            queryset=requests,
            columns={
                "number": lambda r: r.number,
                "order": lambda r: r.order.number,
                "location": lambda r: r.location.code,
                "status": lambda r: r.status,
                "pickup": lambda r: "yes" if r.is_pickup else "no",
                "created_at": lambda r: r.created_at.isoformat(),
                "rejection_reason": lambda r: r.rejection_reason,
            },
        )


def _request_or_404(user, pk: int):
    request = selectors.fulfillment_request_get(user=user, pk=pk)
    if request is None:
        raise Http404("No such fulfillment request.")
    return request


class RequestDetailView(RoleRequiredMixin, TemplateView):
    template_name = "routing/request_detail.html"
    allowed_roles = STORE

    def get_context_data(self, **kwargs):
        request = _request_or_404(self.request.user, self.kwargs["pk"])
        return {
            **super().get_context_data(**kwargs),
            "request_obj": request,
            "lines": list(request.lines.all()),
            "allowed": set(allowed_transitions(request)),
            "reject_form": RejectForm(),
            "ship_form": ShipForm(),
            "codes": selectors.location_codes(
                c["location_id"] for c in request.explanation.get("considered", [])
            ),
        }


class RequestActionView(RoleRequiredMixin, View):
    allowed_roles = STORE
    ACTIONS = {
        "accept": "Request accepted.",
        "pack": "Packed; the invoice is issued.",
        "ship": "Shipped.",
        "ready_for_pickup": "Ready for pickup; the customer is told.",
        "picked_up": "Picked up.",
        "reject": "Rejected; the items go back to routing.",
    }

    def post(self, request, pk: int, action: str):
        fulfillment_request = _request_or_404(request.user, pk)
        if action not in self.ACTIONS:
            raise Http404("No such action.")
        back = reverse("fulfillment:request-detail", args=[pk])
        kwargs = {}
        if action == "ship":
            kwargs = {
                "carrier": request.POST.get("carrier", ""),
                "tracking_number": request.POST.get("tracking_number", ""),
            }
        elif action == "reject":
            quantities = {}
            for line in fulfillment_request.lines.all():
                if count := int_param(request.POST.get(f"reject-{line.order_line_id}")):
                    quantities[line.order_line_id] = count
            if not quantities:
                messages.error(request, "Choose the items to reject.")
                return redirect(back)
            kwargs = {
                "reason": request.POST.get("reason", ""),
                "quantities": quantities,
            }
        service = getattr(services, f"fulfillment_request_{action}")
        return run_action(
            request,
            lambda: service(request=fulfillment_request, actor=request.user, **kwargs),
            success=self.ACTIONS[action],
            redirect_to=back,
        )
