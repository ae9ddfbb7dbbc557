from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View
from django.views.generic import FormView, TemplateView

from oms import selectors
from oms.backoffice.access import RoleRequiredMixin, run_action, safe_next_url
from oms.backoffice.dashboard import attention_counters
from oms.backoffice.forms import LoginForm, WebhookSubscriptionForm
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
    template_name = "backoffice/dashboard.html"
    allowed_roles = STAFF_ROLES

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["counters"] = attention_counters(self.request.user)
        context["roles"] = sorted(user_roles(self.request.user))
        return context


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
        context["page"] = Paginator(queryset, 50).get_page(self.request.GET.get("page"))
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
