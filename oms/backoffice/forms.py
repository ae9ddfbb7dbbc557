from django import forms
from django.contrib.auth.forms import AuthenticationForm


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label="Username",
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )


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
