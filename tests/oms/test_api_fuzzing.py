"""Schemathesis against /api/schema/, in process on the WSGI app, once per role.

Every operation of the schema gets generated requests (valid ones and ones that
break the schema) from a client of each role: csr, store_associate,
inventory_manager, admin (each with an API token of their user) and an
integration. No answer may be a 5xx, and every answer must be one the schema
declares, in its declared content type and shape. The data is the demo data, so
path parameters that hit real rows (order numbers, SKUs, location codes, ids) lead
to real answers, not only 404s.

The run is bounded by `MAX_EXAMPLES` per operation, role and mode; raise it with
`OMS_FUZZ_EXAMPLES=…` for a longer hunt. The number of requests sent is printed.
"""

import os

import hypothesis
import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi import checks as openapi_checks

from inventory.models import Location
from inventory.services import location_assign_staff
from oms.roles import Role
from oms.services.api_clients import api_client_create
from oms.wsgi import application

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

MAX_EXAMPLES = int(os.environ.get("OMS_FUZZ_EXAMPLES", "4"))
ROLES = (
    Role.CSR,
    Role.STORE_ASSOCIATE,
    Role.INVENTORY_MANAGER,
    Role.ADMIN,
    Role.INTEGRATION,
)
CHECKS = [
    not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
]
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


def _token_for(role: str) -> str:
    """An API token whose user holds `role`; the store associate works at Berlin."""
    client, token = api_client_create(name=f"fuzz-{role}", role=role)
    if role == Role.STORE_ASSOCIATE:
        location_assign_staff(
            user=client.user, location=Location.objects.get(code="ST-BERLIN")
        )
    return token


@pytest.fixture
def api_schema(settings):
    settings.CELERY_EMBEDDED = True  # the health check's worker: in process here
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    # The WSGI handler closes the database connection after each request, as a
    # server should; here that connection holds the test's transaction (Django's
    # test client disconnects the same handlers).
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def _fuzz(operation, mode, headers: dict, sent: list) -> None:
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        sent.append(case.operation.label)
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_answers_as_the_schema_says(api_schema, role):
    headers = {"Authorization": f"Bearer {_token_for(role)}"}
    sent: list[str] = []
    failures = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode in MODES:
            try:
                _fuzz(operation, mode, headers, sent)
            except hypothesis.errors.Unsatisfiable:
                continue  # nothing to break: no parameters, no body (health)
            except (Exception, FailureGroup) as exc:  # every failure is reported
                failures.append(f"{operation.label} ({mode}): {exc}")
    print(
        f"schemathesis as {role}: {len(sent)} requests to {len(set(sent))} operations"
    )

    assert sent
    assert not failures, "\n\n".join(failures)
