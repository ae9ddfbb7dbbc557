from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm

from oms.backoffice.security import LoginThrottle


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label="Username",
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    def clean(self):
        throttle = LoginThrottle(self.request, self.cleaned_data.get("username", ""))
        if throttle.locked():
            minutes = max(settings.OMS_LOGIN_LOCKOUT_SECONDS // 60, 1)
            raise forms.ValidationError(
                "Too many failed logins for this username from your address. "
                f"Try again in {minutes} minutes, or ask an administrator to reset "
                "your password.",
                code="too_many_attempts",
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            throttle.failed()
            raise
        throttle.succeeded()
        return cleaned


class WebhookSubscriptionForm(forms.Form):
    name = forms.CharField(max_length=100)
    url = forms.URLField(max_length=500, label="Endpoint URL", assume_scheme="https")
    event_patterns = forms.CharField(
        label="Event patterns",
        help_text='Comma-separated, e.g. "order.*, return.processed" or "*" for all.',
        initial="*",
    )
    active = forms.BooleanField(required=False, initial=True)

    def clean_event_patterns(self) -> list[str]:
        patterns = [
            p.strip()
            for p in self.cleaned_data["event_patterns"].split(",")
            if p.strip()
        ]
        if not patterns:
            raise forms.ValidationError('Give at least one pattern, e.g. "order.*".')
        return patterns
