"""A posted back-office form holding a NUL character is refused before any view runs.

PostgreSQL text cannot hold NUL. Django's form fields refuse it one by one, but a
page that reads a reason, a comment or a list of order numbers straight from the
posted form would hand it to the database and fail with a 500, after the checks
that were meant to answer first. Refused here, for every page at once, with a 400
that says why and changes nothing.
"""

from django.shortcuts import render

from oms.backoffice.security import PAGE_PREFIXES

NUL = "\x00"


def _holds_nul(data) -> bool:
    return any(NUL in value for values in data.lists() for value in values[1])


class RejectNulInFormsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.method == "POST"
            and request.path.startswith(PAGE_PREFIXES)
            and _holds_nul(request.POST)
        ):
            return render(request, "400_form.html", status=400)
        return self.get_response(request)
