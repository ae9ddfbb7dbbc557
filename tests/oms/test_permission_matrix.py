"""Who may do what: every route of the URL configuration × every role, in one table.

The test walks `django.urls.get_resolver()`; a route (or an HTTP method of a view)
without a row in `MATRIX` fails the test, so nobody adds an endpoint or a page
without deciding who may use it. Each request runs against the demo data (the same
world `make run` shows) inside a savepoint that is rolled back, so every cell sees
the same state and the cells do not depend on each other's order.

The store associate works at a location that none of the sample objects belongs
to: their cells show the object-level checks (a request, a transfer order, a
cycle count of another store is a 404, or a 403 where the page says so).
"""

import copy
import re
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from inventory.models import (
    Asn,
    CycleCount,
    Location,
    Product,
    StockSync,
    TransferOrder,
)
from inventory.services import location_assign_staff, stock_sync_run
from oms.models import Job, WebhookDelivery, WebhookSubscription
from oms.roles import Role
from oms.services.api_clients import api_client_create
from oms.services.events import dispatch_events
from oms.services.webhooks import subscription_create
from orders.models import Order
from orders.routing.models import BrokeringRun, FulfillmentRequest, RoutingRuleSet
from orders.workflows.models import (
    OrderTypeDefinition,
    WorkflowStep,
    WorkflowStepGroup,
    WorkflowStepRun,
)
from payments.models import PaymentAccount, PaymentTransaction
from returns.models import Return

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

THIS_FILE = "tests/oms/test_permission_matrix.py"
ROLES = (
    "anonymous",
    "csr",
    "store_associate",  # of another location than the sample objects
    "inventory_manager",
    "admin",
    "integration",  # a bearer token
)
# Routes this table does not cover: Django's own admin (superusers only, its own
# login) and the static files.
EXEMPT_PREFIXES = ("/admin/", "/static/")
HTTP_METHODS = ("get", "post", "put", "patch", "delete")

# "METHOD /route as written in urls.py": the status each role gets, in ROLES order.
# A POST sends an empty body: a role that may act gets a validation answer (400 on
# the API, the form again or a redirect with a message on a page), one that may not
# gets 401/403 (a page sends an anonymous visitor to the login page: 302).
# fmt: off
MATRIX: dict[str, tuple[int, int, int, int, int, int]] = {
    # "METHOD /route": (anonymous, csr, store_associate, inventory_manager, admin,
    #                   integration)
    "GET /": (302, 302, 302, 302, 302, 302),
    "POST /": (302, 302, 302, 302, 302, 302),
    "GET /api/docs/": (200, 200, 200, 200, 200, 200),
    "GET /api/schema/": (200, 200, 200, 200, 200, 200),
    "GET /api/v1/brokering-runs": (401, 200, 403, 403, 200, 200),
    "POST /api/v1/brokering-runs": (401, 400, 403, 403, 400, 400),
    "GET /api/v1/brokering-runs/<int:pk>": (401, 200, 403, 403, 200, 200),
    "GET /api/v1/events": (401, 403, 403, 403, 200, 200),
    "GET /api/v1/order-types": (401, 200, 403, 403, 200, 403),
    "POST /api/v1/order-types": (401, 403, 403, 403, 400, 403),
    "GET /api/v1/order-types/<str:code>": (401, 200, 403, 403, 200, 403),
    "PATCH /api/v1/order-types/<str:code>": (401, 403, 403, 403, 200, 403),
    "GET /api/v1/workflow-steps": (401, 200, 403, 403, 200, 403),
    "POST /api/v1/workflow-steps": (401, 403, 403, 403, 400, 403),
    "POST /api/v1/workflow-steps/dry-run": (401, 403, 403, 403, 400, 403),
    "GET /api/v1/workflow-steps/<int:pk>": (401, 200, 403, 403, 200, 403),
    "PATCH /api/v1/workflow-steps/<int:pk>": (401, 403, 403, 403, 200, 403),
    "DELETE /api/v1/workflow-steps/<int:pk>": (401, 403, 403, 403, 204, 403),
    "GET /api/v1/workflow-step-groups": (401, 200, 403, 403, 200, 403),
    "POST /api/v1/workflow-step-groups": (401, 403, 403, 403, 400, 403),
    "GET /api/v1/workflow-runs": (401, 200, 403, 403, 200, 403),
    "POST /api/v1/workflow-runs/<int:pk>/retry": (401, 409, 403, 403, 409, 403),
    "GET /backoffice/workflows/": (302, 403, 403, 403, 200, 302),
    "GET /backoffice/workflows/new/": (302, 403, 403, 403, 200, 302),
    "POST /backoffice/workflows/new/": (302, 403, 403, 403, 200, 302),
    "POST /backoffice/workflows/copy/": (302, 403, 403, 403, 302, 302),
    "GET /backoffice/workflows/steps/<int:pk>/": (302, 403, 403, 403, 200, 302),
    "POST /backoffice/workflows/steps/<int:pk>/": (302, 403, 403, 403, 200, 302),
    "POST /backoffice/workflows/step-runs/<int:pk>/retry/":
        (302, 302, 403, 403, 302, 302),
    "GET /backoffice/workflows/groups/": (302, 403, 403, 403, 200, 302),
    "POST /backoffice/workflows/groups/": (302, 403, 403, 403, 200, 302),
    "GET /backoffice/workflows/groups/<slug:code>/": (302, 403, 403, 403, 200, 302),
    "POST /backoffice/workflows/groups/<slug:code>/": (302, 403, 403, 403, 200, 302),
    "POST /backoffice/workflows/groups/<slug:code>/steps/":
        (302, 403, 403, 403, 200, 302),
    "GET /backoffice/workflows/<slug:code>/": (302, 403, 403, 403, 200, 302),
    "POST /backoffice/workflows/<slug:code>/": (302, 403, 403, 403, 200, 302),
    "GET /backoffice/workflows/<slug:code>/edit/": (302, 403, 403, 403, 200, 302),
    "POST /backoffice/workflows/<slug:code>/edit/": (302, 403, 403, 403, 200, 302),
    "GET /api/v1/jobs": (401, 200, 200, 200, 200, 403),
    "POST /api/v1/jobs": (401, 400, 400, 400, 400, 403),
    "GET /api/v1/jobs/<int:pk>": (401, 200, 404, 404, 200, 403),
    "POST /api/v1/jobs/<int:pk>/cancel": (401, 200, 404, 404, 200, 403),
    "POST /api/v1/jobs/<int:pk>/confirm": (401, 409, 404, 404, 409, 403),
    "GET /api/v1/jobs/<int:pk>/rows": (401, 200, 404, 404, 200, 403),
    "GET /api/v1/fulfillment-requests": (401, 200, 200, 200, 200, 200),
    "GET /api/v1/fulfillment-requests/<int:pk>": (401, 200, 404, 200, 200, 200),
    "POST /api/v1/fulfillment-requests/<int:pk>/accept": (401, 409, 404, 409, 409, 409),
    "POST /api/v1/fulfillment-requests/<int:pk>/pack": (401, 409, 404, 409, 409, 409),
    "POST /api/v1/fulfillment-requests/<int:pk>/picked-up":
        (401, 409, 404, 409, 409, 409),
    "POST /api/v1/fulfillment-requests/<int:pk>/ready-for-pickup":
        (401, 409, 404, 409, 409, 409),
    "POST /api/v1/fulfillment-requests/<int:pk>/reject": (401, 400, 404, 400, 400, 400),
    "POST /api/v1/fulfillment-requests/<int:pk>/ship": (401, 400, 404, 400, 400, 400),
    "GET /api/v1/health": (200, 200, 200, 200, 200, 200),
    "GET /api/v1/inventory/adjustments": (401, 200, 200, 200, 200, 200),
    "POST /api/v1/inventory/adjustments": (401, 403, 400, 400, 400, 400),
    "GET /api/v1/inventory/asns": (401, 200, 200, 200, 200, 200),
    "POST /api/v1/inventory/asns": (401, 403, 403, 400, 400, 400),
    "GET /api/v1/inventory/asns/<int:pk>": (401, 200, 404, 200, 200, 200),
    "POST /api/v1/inventory/asns/<int:pk>/close": (401, 403, 403, 200, 200, 200),
    "POST /api/v1/inventory/asns/<int:pk>/receive": (401, 403, 404, 400, 400, 400),
    "GET /api/v1/inventory/cycle-counts": (401, 200, 200, 200, 200, 200),
    "POST /api/v1/inventory/cycle-counts": (401, 403, 400, 400, 400, 400),
    "GET /api/v1/inventory/cycle-counts/<int:pk>": (401, 200, 404, 200, 200, 200),
    "POST /api/v1/inventory/cycle-counts/<int:pk>/approve":
        (401, 403, 403, 200, 200, 200),
    "POST /api/v1/inventory/cycle-counts/<int:pk>/reject":
        (401, 403, 403, 201, 201, 201),
    "POST /api/v1/inventory/cycle-counts/<int:pk>/submit":
        (401, 403, 404, 400, 400, 400),
    "GET /api/v1/inventory/receipts": (401, 200, 200, 200, 200, 200),
    "POST /api/v1/inventory/receipts": (401, 403, 400, 400, 400, 400),
    "POST /api/v1/inventory/sync": (401, 403, 403, 400, 400, 400),
    "GET /api/v1/inventory/sync/<int:pk>": (401, 403, 403, 200, 200, 200),
    "GET /api/v1/inventory/transactions": (401, 200, 200, 200, 200, 200),
    "GET /api/v1/inventory/transfer-orders": (401, 200, 200, 200, 200, 200),
    "POST /api/v1/inventory/transfer-orders": (401, 403, 400, 400, 400, 400),
    "GET /api/v1/inventory/transfer-orders/<int:pk>": (401, 200, 404, 200, 200, 200),
    "POST /api/v1/inventory/transfer-orders/<int:pk>/close":
        (401, 403, 403, 200, 200, 200),
    "POST /api/v1/inventory/transfer-orders/<int:pk>/receive":
        (401, 403, 404, 400, 400, 400),
    "POST /api/v1/inventory/transfer-orders/<int:pk>/ship":
        (401, 403, 404, 200, 200, 200),
    "GET /api/v1/locations": (401, 200, 200, 200, 200, 200),
    "POST /api/v1/locations": (401, 403, 403, 400, 400, 400),
    "GET /api/v1/locations/<str:code>": (401, 200, 200, 200, 200, 200),
    "GET /api/v1/orders": (401, 200, 403, 403, 200, 200),
    "POST /api/v1/orders": (401, 403, 403, 403, 400, 400),
    "GET /api/v1/orders/<str:number>": (401, 200, 403, 403, 200, 200),
    "PATCH /api/v1/orders/<str:number>": (401, 200, 403, 403, 200, 200),
    "POST /api/v1/orders/<str:number>/approve": (401, 400, 403, 403, 400, 400),
    "POST /api/v1/orders/<str:number>/cancel": (401, 400, 403, 403, 400, 400),
    "POST /api/v1/orders/<str:number>/cancel-items": (401, 400, 403, 403, 400, 400),
    "POST /api/v1/orders/<str:number>/hold": (401, 409, 403, 403, 409, 409),
    "POST /api/v1/orders/<str:number>/release": (401, 409, 403, 403, 409, 409),
    "POST /api/v1/orders/<str:number>/swap-items": (401, 400, 403, 403, 400, 400),
    "GET /api/v1/orders/<str:number>/timeline": (401, 200, 403, 403, 200, 200),
    "POST /api/v1/orders/<str:number>/unhold": (401, 409, 403, 403, 409, 409),
    "POST /api/v1/orders/import": (401, 403, 403, 403, 400, 400),
    "GET /api/v1/payment-accounts": (401, 200, 403, 403, 200, 200),
    "GET /api/v1/payment-accounts/<int:pk>": (401, 200, 403, 403, 200, 200),
    "POST /api/v1/payment-transactions/<int:pk>/retry": (401, 409, 403, 403, 409, 403),
    "GET /api/v1/products": (401, 200, 200, 200, 200, 200),
    "POST /api/v1/products": (401, 403, 403, 400, 400, 400),
    "GET /api/v1/products/<str:sku>": (401, 200, 200, 200, 200, 200),
    "GET /api/v1/returns": (401, 200, 200, 403, 200, 200),
    "POST /api/v1/returns": (401, 400, 400, 403, 400, 400),
    "GET /api/v1/returns/<int:pk>": (401, 200, 404, 403, 200, 200),
    "POST /api/v1/returns/<int:pk>/retry": (401, 409, 403, 403, 409, 409),
    "GET /api/v1/routing/queues": (401, 200, 403, 403, 200, 200),
    "GET /api/v1/routing/rule-sets": (401, 403, 403, 403, 200, 403),
    "POST /api/v1/routing/rule-sets": (401, 403, 403, 403, 400, 403),
    "DELETE /api/v1/routing/rule-sets/<int:pk>": (401, 403, 403, 403, 409, 403),
    "GET /api/v1/routing/rule-sets/<int:pk>": (401, 403, 403, 403, 200, 403),
    "PATCH /api/v1/routing/rule-sets/<int:pk>": (401, 403, 403, 403, 200, 403),
    "POST /api/v1/routing/simulate": (401, 400, 403, 403, 400, 403),
    "GET /api/v1/stock": (401, 200, 200, 200, 200, 200),
    "GET /api/v1/webhook-deliveries": (401, 403, 403, 403, 200, 200),
    "POST /api/v1/webhook-deliveries/<int:pk>/redeliver":
        (401, 403, 403, 403, 409, 404),
    "GET /api/v1/webhooks": (401, 403, 403, 403, 200, 200),
    "POST /api/v1/webhooks": (401, 403, 403, 403, 400, 400),
    "DELETE /api/v1/webhooks/<int:pk>": (401, 403, 403, 403, 204, 404),
    "GET /api/v1/webhooks/<int:pk>": (401, 403, 403, 403, 200, 404),
    "PATCH /api/v1/webhooks/<int:pk>": (401, 403, 403, 403, 200, 404),
    "POST /api/v1/webhooks/<int:pk>/rotate-secret": (401, 403, 403, 403, 200, 404),
    "GET /backoffice/": (302, 200, 200, 200, 200, 302),
    "GET /backoffice/dashboard/charts.json": (302, 200, 200, 200, 200, 302),
    "GET /backoffice/search/": (302, 200, 200, 200, 200, 302),
    "GET /backoffice/fulfillment/orders/<str:number>/alternative/":
        (302, 200, 403, 403, 200, 302),
    "POST /backoffice/fulfillment/orders/<str:number>/alternative/":
        (302, 302, 403, 403, 302, 302),
    "GET /backoffice/fulfillment/queues/": (302, 200, 403, 403, 200, 302),
    "GET /backoffice/fulfillment/queues/<str:queue>/": (302, 200, 403, 403, 200, 302),
    "POST /backoffice/fulfillment/queues/move/": (302, 302, 403, 403, 302, 302),
    "GET /backoffice/fulfillment/requests/": (302, 200, 200, 200, 200, 302),
    "GET /backoffice/fulfillment/requests/export.csv": (302, 200, 200, 200, 200, 302),
    "GET /backoffice/fulfillment/requests/<int:pk>/": (302, 200, 404, 200, 200, 302),
    "POST /backoffice/fulfillment/requests/<int:pk>/<str:action>/":
        (302, 302, 404, 302, 302, 302),
    "GET /backoffice/fulfillment/rule-sets/": (302, 403, 403, 403, 200, 302),
    "GET /backoffice/fulfillment/rule-sets/<int:pk>/": (302, 403, 403, 403, 200, 302),
    "POST /backoffice/fulfillment/rule-sets/<int:pk>/": (302, 403, 403, 403, 200, 302),
    "GET /backoffice/fulfillment/rule-sets/new/": (302, 403, 403, 403, 200, 302),
    "POST /backoffice/fulfillment/rule-sets/new/": (302, 403, 403, 403, 200, 302),
    "GET /backoffice/fulfillment/runs/": (302, 200, 403, 403, 200, 302),
    "GET /backoffice/fulfillment/runs/<int:pk>/progress.json":
        (302, 200, 403, 403, 200, 302),
    "POST /backoffice/fulfillment/runs/start/": (302, 302, 403, 403, 302, 302),
    "GET /backoffice/fulfillment/simulate/": (302, 200, 403, 403, 200, 302),
    "POST /backoffice/fulfillment/simulate/": (302, 200, 403, 403, 200, 302),
    "GET /backoffice/integrations/deliveries/": (302, 403, 403, 403, 200, 302),
    "POST /backoffice/integrations/deliveries/<int:pk>/redeliver/":
        (302, 403, 403, 403, 302, 302),
    "GET /backoffice/integrations/events/": (302, 403, 403, 403, 200, 302),
    "GET /backoffice/integrations/webhooks/": (302, 403, 403, 403, 200, 302),
    "POST /backoffice/integrations/webhooks/": (302, 403, 403, 403, 200, 302),
    "POST /backoffice/integrations/webhooks/<int:pk>/rotate-secret/":
        (302, 403, 403, 403, 302, 302),
    "POST /backoffice/integrations/webhooks/<int:pk>/toggle/":
        (302, 403, 403, 403, 302, 302),
    "GET /backoffice/inventory/adjustments/new/": (302, 403, 200, 200, 200, 302),
    "POST /backoffice/inventory/adjustments/new/": (302, 403, 200, 200, 200, 302),
    "GET /backoffice/inventory/asns/": (302, 200, 200, 200, 200, 302),
    "GET /backoffice/inventory/asns/<int:pk>/": (302, 200, 404, 200, 200, 302),
    "GET /backoffice/inventory/asns/<int:pk>/close/": (302, 403, 403, 200, 200, 302),
    "POST /backoffice/inventory/asns/<int:pk>/close/": (302, 403, 403, 302, 302, 302),
    "POST /backoffice/inventory/asns/<int:pk>/receive/": (302, 403, 404, 302, 302, 302),
    "GET /backoffice/inventory/cycle-counts/": (302, 403, 200, 200, 200, 302),
    "GET /backoffice/inventory/cycle-counts/<int:pk>/": (302, 403, 404, 200, 200, 302),
    "POST /backoffice/inventory/cycle-counts/<int:pk>/review/":
        (302, 403, 403, 302, 302, 302),
    "POST /backoffice/inventory/cycle-counts/<int:pk>/submit/":
        (302, 403, 404, 302, 302, 302),
    "GET /backoffice/inventory/cycle-counts/new/": (302, 403, 200, 200, 200, 302),
    "POST /backoffice/inventory/cycle-counts/new/": (302, 403, 200, 200, 200, 302),
    "GET /backoffice/inventory/ledger/": (302, 200, 200, 200, 200, 302),
    "GET /backoffice/inventory/ledger/export.csv": (302, 200, 200, 200, 200, 302),
    "GET /backoffice/inventory/stock/": (302, 200, 200, 200, 200, 302),
    "GET /backoffice/inventory/sync/": (302, 403, 403, 200, 200, 302),
    "POST /backoffice/inventory/sync/": (302, 403, 403, 200, 200, 302),
    "GET /backoffice/inventory/sync/<int:pk>/": (302, 403, 403, 200, 200, 302),
    "GET /backoffice/inventory/transfer-orders/": (302, 200, 200, 200, 200, 302),
    "GET /backoffice/inventory/transfer-orders/<int:pk>/":
        (302, 200, 404, 200, 200, 302),
    "GET /backoffice/inventory/transfer-orders/<int:pk>/close/":
        (302, 403, 403, 200, 200, 302),
    "POST /backoffice/inventory/transfer-orders/<int:pk>/close/":
        (302, 403, 403, 302, 302, 302),
    "POST /backoffice/inventory/transfer-orders/<int:pk>/receive/":
        (302, 403, 404, 302, 302, 302),
    "POST /backoffice/inventory/transfer-orders/<int:pk>/ship/":
        (302, 403, 404, 302, 302, 302),
    "GET /backoffice/inventory/transfer-orders/new/": (302, 403, 200, 200, 200, 302),
    "POST /backoffice/inventory/transfer-orders/new/": (302, 403, 200, 200, 200, 302),
    "GET /backoffice/jobs/": (302, 200, 200, 200, 200, 302),
    "GET /backoffice/jobs/<int:pk>/": (302, 200, 404, 404, 200, 302),
    "POST /backoffice/jobs/<int:pk>/cancel/": (302, 302, 404, 404, 302, 302),
    "POST /backoffice/jobs/<int:pk>/confirm/": (302, 302, 404, 404, 302, 302),
    "GET /backoffice/jobs/<int:pk>/progress.json": (302, 200, 404, 404, 200, 302),
    "GET /backoffice/jobs/<int:pk>/results.csv": (302, 200, 404, 404, 200, 302),
    "GET /backoffice/jobs/new/": (302, 200, 403, 200, 200, 302),
    "POST /backoffice/jobs/new/": (302, 200, 403, 200, 200, 302),
    "GET /backoffice/login/": (200, 302, 302, 302, 302, 200),
    "POST /backoffice/login/": (200, 302, 302, 302, 302, 200),
    "GET /backoffice/logout/": (405, 405, 405, 405, 405, 405),
    "POST /backoffice/logout/": (302, 302, 302, 302, 302, 302),
    "GET /backoffice/orders/": (302, 200, 403, 403, 200, 302),
    "GET /backoffice/orders/<str:number>/": (302, 200, 403, 403, 200, 302),
    "POST /backoffice/orders/<str:number>/approve/": (302, 302, 403, 403, 302, 302),
    "POST /backoffice/orders/<str:number>/cancel-items/":
        (302, 302, 403, 403, 302, 302),
    "POST /backoffice/orders/<str:number>/cancel/": (302, 302, 403, 403, 302, 302),
    "GET /backoffice/orders/<str:number>/edit/": (302, 200, 403, 403, 200, 302),
    # An empty post is a form with errors, shown again (the lines' rows are missing).
    "POST /backoffice/orders/<str:number>/edit/": (302, 200, 403, 403, 200, 302),
    "POST /backoffice/orders/<str:number>/swap/": (302, 302, 403, 403, 302, 302),
    "POST /backoffice/orders/bulk/": (302, 302, 403, 403, 302, 302),
    "GET /backoffice/orders/export.csv": (302, 200, 403, 403, 200, 302),
    "GET /backoffice/payments/accounts/<int:pk>/": (302, 200, 403, 403, 200, 302),
    "GET /backoffice/payments/transactions/": (302, 200, 403, 403, 200, 302),
    "POST /backoffice/payments/transactions/<int:pk>/retry/":
        (302, 302, 403, 403, 302, 302),
    "GET /backoffice/returns/": (302, 200, 200, 403, 200, 302),
    "GET /backoffice/returns/<int:pk>/": (302, 200, 404, 403, 200, 302),
    "GET /backoffice/returns/export.csv": (302, 200, 200, 403, 200, 302),
    "POST /backoffice/returns/<int:pk>/retry/": (302, 302, 403, 403, 302, 302),
    "GET /backoffice/returns/new/<str:number>/": (302, 200, 200, 403, 200, 302),
    "POST /backoffice/returns/new/<str:number>/": (302, 200, 200, 403, 200, 302),
}
# fmt: on


# The world ------------------------------------------------------------------------


@dataclass
class World:
    objects: dict[str, object]
    clients: dict[str, Client]


HOME_OF_THE_ASSOCIATE = "ST-LEIPZIG"


def _sample_objects(other_integration) -> dict[str, object]:
    """One object per kind of URL segment, none of them at the associate's store."""
    subscription = WebhookSubscription.objects.get(owner=other_integration)
    away = Location.objects.exclude(code=HOME_OF_THE_ASSOCIATE)
    transfer_order = (
        TransferOrder.objects.exclude(origin__code=HOME_OF_THE_ASSOCIATE)
        .exclude(destination__code=HOME_OF_THE_ASSOCIATE)
        .order_by("id")
        .first()
    )
    return {
        "webhooks": subscription,
        "webhook-deliveries": WebhookDelivery.objects.filter(
            subscription=subscription
        ).first(),
        "deliveries": WebhookDelivery.objects.filter(subscription=subscription).first(),
        "asns": Asn.objects.filter(location__in=away).first(),
        "transfer-orders": transfer_order,
        "cycle-counts": CycleCount.objects.filter(location__in=away).first(),
        "sync": StockSync.objects.first(),
        "payment-accounts": PaymentAccount.objects.first(),
        "accounts": PaymentAccount.objects.first(),
        "payment-transactions": PaymentTransaction.objects.first(),
        "transactions": PaymentTransaction.objects.first(),
        "rule-sets": RoutingRuleSet.objects.first(),
        "brokering-runs": BrokeringRun.objects.first(),
        "runs": BrokeringRun.objects.first(),
        "fulfillment-requests": FulfillmentRequest.objects.filter(
            location__in=away
        ).first(),
        "requests": FulfillmentRequest.objects.filter(location__in=away).first(),
        "returns": Return.objects.filter(location__in=away).first(),
        "orders": Order.objects.order_by("id").first(),
        "jobs": Job.objects.first(),
        "products": Product.objects.first(),
        "locations": Location.objects.exclude(code=HOME_OF_THE_ASSOCIATE).first(),
        **_workflow_samples(),
    }


def _workflow_samples() -> dict[str, object]:
    """An order type, a step and a successful step run (the seeded ones may have
    been flushed by a transactional test that ran before in this worker)."""
    order_type, _ = OrderTypeDefinition.objects.get_or_create(
        code="standard", defaults={"name": "Standard", "flow": "standard"}
    )
    step = WorkflowStep.objects.create(
        order_type=order_type,
        stage="created",
        name="Matrix note",
        action="record_note",
        params={"text": "matrix"},
    )
    group = WorkflowStepGroup.objects.create(code="matrix", name="Matrix group")
    run = WorkflowStepRun.objects.create(
        order=Order.objects.order_by("id").first(),
        stage="created",
        step=step,
        step_name=step.name,
        action=step.action,
        timing="async",
        result="success",
    )
    return {
        "order-types": order_type,
        "workflows": order_type,
        "workflow-steps": step,
        "steps": step,
        "workflow-runs": run,
        "step-runs": run,
        "groups": group,
    }


def _clients(make_user) -> dict[str, Client]:
    clients = {"anonymous": Client()}
    for role in (Role.CSR, Role.STORE_ASSOCIATE, Role.INVENTORY_MANAGER, Role.ADMIN):
        client = Client()
        user = make_user(role)
        if role == Role.STORE_ASSOCIATE:
            location_assign_staff(
                user=user, location=Location.objects.get(code=HOME_OF_THE_ASSOCIATE)
            )
        client.force_login(user)
        clients[role] = client
    _, token = api_client_create(name="matrix-integration")
    clients["integration"] = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    return clients


@pytest.fixture
def world(make_user, settings) -> World:
    # The health check is public; with the in-process broker it answers 200 here
    # rather than 503 for the worker that no test runs.
    settings.CELERY_EMBEDDED = True
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    other_client, _ = api_client_create(name="another-integration")
    subscription_create(
        name="erp",
        url="http://127.0.0.1:9/hook",
        event_patterns=["*"],
        owner=other_client.user,
    )
    dispatch_events()
    stock_sync_run(rows=iter([]), source="matrix", actor=None)
    Job.objects.create(kind="orders.release", dry_run=True, source="matrix")
    Group.objects.get_or_create(name=Role.INTEGRATION)
    return World(
        objects=_sample_objects(other_client.user), clients=_clients(make_user)
    )


# Walking the URL configuration ----------------------------------------------------


def _routes(patterns=None, prefix: str = "/"):
    """(route as written, view class or function) for every URL pattern."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, getattr(pattern.callback, "view_class", pattern.callback)


def _methods(view) -> list[str]:
    """GET and POST where the view has them; PUT, PATCH and DELETE where the project
    defines them (Django's form views accept a PUT as a POST: not a route of ours)."""
    if not isinstance(view, type):
        return ["GET"]
    return [
        method.upper()
        for method in HTTP_METHODS
        if hasattr(view, method)
        and (method in ("get", "post") or _defined_by_the_project(view, method))
    ]


def _defined_by_the_project(view: type, method: str) -> bool:
    owner = next(cls for cls in view.__mro__ if method in vars(cls))
    return not owner.__module__.startswith("django.")


def routed_cells() -> list[str]:
    return sorted(
        f"{method} {route}"
        for route, view in _routes()
        if not route.startswith(EXEMPT_PREFIXES)
        for method in _methods(view)
    )


CONVERTER = re.compile(r"<(?:(?P<type>\w+):)?(?P<name>\w+)>")


def _sample_value(route: str, name: str, start: int, world: World) -> str:
    if name == "action":
        return "accept"
    if name == "queue":
        return "brokering"
    segment = route[:start].rstrip("/").rsplit("/", 1)[-1]
    if name in {"number", "sku", "code"} and segment == "new":
        segment = "orders"
    sample = world.objects.get(segment)
    if sample is None:
        raise AssertionError(
            f"No sample object for <{name}> after /{segment}/ in {route}: add one "
            f"under the key {segment!r} in _sample_objects() of {THIS_FILE}."
        )
    return str(getattr(sample, {"pk": "pk"}.get(name, name)))


def concrete_path(route: str, world: World) -> str:
    return CONVERTER.sub(
        lambda match: _sample_value(route, match["name"], match.start(), world),
        route,
    )


def observed_status(world: World, role: str, method: str, path: str) -> int:
    return observed_response(world, role, method, path).status_code


def observed_response(world: World, role: str, method: str, path: str):
    client = world.clients[role]
    send = getattr(client, method.lower())
    kwargs = {}
    if method != "GET" and path.startswith("/api/"):
        kwargs = {"data": "{}", "content_type": "application/json"}
    cookies = copy.deepcopy(
        client.cookies
    )  # logging out must not log the next cell out
    with transaction.atomic():
        response = send(path, **kwargs)
        transaction.set_rollback(True)
    client.cookies = cookies
    return response


# The tests ------------------------------------------------------------------------


def test_every_route_has_an_entry_in_the_matrix():
    missing = [cell for cell in routed_cells() if cell not in MATRIX]
    stale = [cell for cell in MATRIX if cell not in routed_cells()]

    assert not missing, (
        "These routes have no entry in the permission matrix. Add a line per route "
        f"to MATRIX in {THIS_FILE} with the status each role "
        f"{ROLES} must get:\n  " + "\n  ".join(f'"{cell}": (...),' for cell in missing)
    )
    assert not stale, (
        f"MATRIX in {THIS_FILE} lists routes that no longer exist: {stale}"
    )


def test_every_role_gets_the_status_the_matrix_says(world):
    wrong = []
    for cell in routed_cells():
        if cell not in MATRIX:
            continue  # reported by test_every_route_has_an_entry_in_the_matrix
        method, route = cell.split(" ", 1)
        path = concrete_path(route, world)
        observed = tuple(observed_status(world, role, method, path) for role in ROLES)
        if observed != MATRIX[cell]:
            wrong.append(f'"{cell}": {observed},  # MATRIX says {MATRIX[cell]}')

    assert not wrong, "Statuses differ from MATRIX:\n" + "\n".join(wrong)


ERROR_KEYS = {"type", "title", "status", "detail", "errors"}


def _refusal_problem(response, path: str) -> str | None:
    """What is wrong with a 403/404: the API answers in its error shape, a page
    with the back-office's own error page (never Django's bare one)."""
    if path.startswith("/api/"):
        is_json = response.get("Content-Type", "").startswith("application/json")
        if not is_json or not ERROR_KEYS <= set(response.json()):
            return f"not the error shape: {response.content[:120]!r}"
        return None
    if 'data-testid="error-page"' not in response.content.decode():
        return f"not the back-office error page: {response.content[:120]!r}"
    return None


def test_every_refusal_is_in_the_error_shape_or_the_error_page(world):
    problems = []
    for cell, statuses in MATRIX.items():
        method, route = cell.split(" ", 1)
        path = concrete_path(route, world)
        for role, expected in zip(ROLES, statuses, strict=True):
            if expected not in (403, 404):
                continue
            response = observed_response(world, role, method, path)
            problem = _refusal_problem(response, path)
            if problem:
                problems.append(f"{role} {cell} → {response.status_code} {problem}")

    assert problems == []
