"""Security headers of the back-office pages, and the login throttle.

Django's SecurityMiddleware and XFrameOptionsMiddleware set nosniff, the referrer
policy, X-Frame-Options DENY and HSTS (behind TLS); Django 5.2 has no
Content-Security-Policy, so `ContentSecurityPolicyMiddleware` adds it to the pages.
The pages load scripts and styles from this site only: no inline scripts, event
handlers or style attributes (static/backoffice/ holds them; progress bars are
<progress> elements).
The API docs (Swagger UI) and Django's admin keep their own inline scripts and
are not covered.
"""

from django.conf import settings
from django.core.cache import cache

PAGE_PREFIXES = ("/backoffice/",)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(PAGE_PREFIXES):
            response.setdefault(
                "Content-Security-Policy", settings.OMS_CONTENT_SECURITY_POLICY
            )
        return response


def client_address(request) -> str:
    """The address of the client, as the first of `OMS_TRUSTED_PROXIES` proxies in
    front of the web server saw it. Each proxy appends its peer's address to
    X-Forwarded-For, so the client is the n-th entry from the right; whatever lies
    left of it the client wrote itself. With no trusted proxy the header is ignored:
    anyone could send one to dodge the login throttle."""
    proxies = settings.OMS_TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
    if proxies and len(addresses) >= proxies:
        return addresses[-proxies]
    return request.META.get("REMOTE_ADDR", "")


class LoginThrottle:
    """Failed logins per username and client address (`client_address`), counted
    in the shared cache (Redis in services mode, so every web process sees the
    same count). After `OMS_LOGIN_MAX_FAILURES` failures within
    `OMS_LOGIN_LOCKOUT_SECONDS` that pair is refused until the window has passed;
    a success clears the count."""

    def __init__(self, request, username: str):
        address = client_address(request) if request else ""
        self.key = f"login-failures:{username.strip().lower()}:{address}"

    def locked(self) -> bool:
        return cache.get(self.key, 0) >= settings.OMS_LOGIN_MAX_FAILURES

    def failed(self) -> None:
        cache.add(self.key, 0, timeout=settings.OMS_LOGIN_LOCKOUT_SECONDS)
        cache.incr(self.key)

    def succeeded(self) -> None:
        cache.delete(self.key)
