from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View
from django.views.generic import FormView, TemplateView

from oms import selectors
from oms.backoffice.access import RoleRequiredMixin, run_action, safe_next_url
from oms.backoffice.dashboard import cached_charts, cached_counters
from oms.backoffice.forms import LoginForm, WebhookSubscriptionForm
from oms.backoffice.keyset import keyset_page
from oms.backoffice.search import search
from oms.models import WebhookDelivery, WebhookSubscription
from oms.params import int_param, text_param
from oms.roles import STAFF_ROLES, user_roles
from oms.services import webhooks


class LoginView(auth_views.LoginView):
    template_name = "backoffice/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class DashboardView(RoleRequiredMixin, TemplateView):
    """Counters from the short-lived cache (the page says how old they are); the
    charts are drawn in the browser from `DashboardChartsView`'s JSON."""

    template_name = "backoffice/dashboard.html"
    allowed_roles = STAFF_ROLES

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["counters"] = cached_counters(self.request.user)
        context["roles"] = sorted(user_roles(self.request.user))
        return context


class DashboardChartsView(RoleRequiredMixin, View):
    """The dashboard's charts as JSON: {as_of, ttl_seconds, charts: [{id, title,
    kind, unit, x, series: [{name, values}]}]}."""

    allowed_roles = STAFF_ROLES

    def get(self, request):
        found = cached_charts(request.user)
        return JsonResponse(
            {
                "as_of": found["as_of"].isoformat(),
                "ttl_seconds": found["ttl_seconds"],
                "charts": found["items"],
            }
        )


class GlobalSearchView(RoleRequiredMixin, TemplateView):
    """The header's search box: one hit opens it, several are listed."""

    template_name = "backoffice/search.html"
    allowed_roles = STAFF_ROLES

    def get(self, request, *args, **kwargs):
        query = text_param(request.GET, "q")
        hits = search(query=query, user=request.user)
        if len(hits) == 1:
            return redirect(hits[0]["url"])
        return self.render_to_response(
            self.get_context_data(search_query=query, hits=hits, **kwargs)
        )


class WebhookListView(RoleRequiredMixin, FormView):
    """Subscriptions and a form to add one; the new secret is shown once."""

    template_name = "backoffice/webhooks/list.html"
    form_class = WebhookSubscriptionForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["subscriptions"] = selectors.subscription_list()
        context["new_secret"] = self.request.session.pop("webhook_new_secret", None)
        return context

    def form_valid(self, form):
        subscription = webhooks.subscription_create(**form.cleaned_data)
        self.request.session["webhook_new_secret"] = {
            "name": subscription.name,
            "secret": subscription.secret,
        }
        messages.success(self.request, f"Subscription “{subscription.name}” created.")
        return redirect("backoffice:webhook-list")


class WebhookToggleView(RoleRequiredMixin, View):
    def post(self, request, pk: int):
        subscription = get_object_or_404(WebhookSubscription, pk=pk)
        active = not subscription.active
        return run_action(
            request,
            lambda: webhooks.subscription_update(
                subscription=subscription, active=active
            ),
            success=f"“{subscription.name}” {'activated' if active else 'paused'}.",
            redirect_to=reverse("backoffice:webhook-list"),
        )


class WebhookRotateSecretView(RoleRequiredMixin, View):
    def post(self, request, pk: int):
        subscription = get_object_or_404(WebhookSubscription, pk=pk)
        secret = webhooks.subscription_rotate_secret(subscription=subscription)
        request.session["webhook_new_secret"] = {
            "name": subscription.name,
            "secret": secret,
        }
        messages.success(request, f"Secret of “{subscription.name}” rotated.")
        return redirect("backoffice:webhook-list")


class DeliveryListView(RoleRequiredMixin, TemplateView):
    """The delivery log with its filters and a re-deliver button per row."""

    template_name = "backoffice/webhooks/deliveries.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        status = text_param(self.request.GET, "status") or None
        subscription = self.request.GET.get("subscription")
        queryset = selectors.delivery_list(
            subscription_id=int_param(subscription), status=status
        )
        context["page"] = keyset_page(queryset, self.request.GET)
        context["statuses"] = WebhookDelivery.Status.choices
        context["subscriptions"] = selectors.subscription_list()
        context["status"] = status or ""
        context["subscription_id"] = subscription or ""
        return context


class DeliveryRedeliverView(RoleRequiredMixin, View):
    def post(self, request, pk: int):
        delivery = get_object_or_404(WebhookDelivery, pk=pk)
        return run_action(
            request,
            lambda: webhooks.delivery_redeliver(delivery=delivery),
            success=f"Delivery #{delivery.pk} queued again.",
            redirect_to=safe_next_url(
                request, default=reverse("backoffice:webhook-deliveries")
            ),
        )


class EventListView(RoleRequiredMixin, TemplateView):
    template_name = "backoffice/events.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        name = text_param(self.request.GET, "name")
        context["events"] = selectors.event_feed(
            after=int_param(self.request.GET.get("after")) or 0,
            name_pattern=name,
            limit=100,
        )
        context["name"] = name
        return context
