"""Settings read from the environment.

Two run modes:
- embedded (nothing set): SQLite file and Celery tasks run in-process; `make run`
  starts a small scheduler beside the web server for the periodic sweeps;
- services (`DATABASE_URL`, `REDIS_URL`): PostgreSQL, a Redis broker, a real worker
  and beat.
"""

import json
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_json(name: str, default):
    value = os.environ.get(name)
    return json.loads(value) if value else default


def env_list(name: str, default: str) -> list[str]:
    return [
        item.strip()
        for item in os.environ.get(name, default).split(",")
        if item.strip()
    ]


DEBUG = env_bool("DEBUG", False)
# Without SECRET_KEY, a key derived from the checkout path keeps a developer's sessions
# stable across restarts; `check --deploy` flags it. Serving any host beyond this
# machine (ALLOWED_HOSTS set) requires a real one.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if "ALLOWED_HOSTS" in os.environ:
        raise ImproperlyConfigured("Set SECRET_KEY when ALLOWED_HOSTS is set.")
    SECRET_KEY = f"django-insecure-embedded-{BASE_DIR}"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "oms",
    "inventory",
    "payments",
    "orders",
    "returns",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "oms.api.request_size.RequestSizeLimitMiddleware",
    "oms.api.json_body.JsonBodyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "oms.backoffice.forms_guard.RejectNulInFormsMiddleware",
    "oms.api.idempotency.IdempotencyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "oms.backoffice.security.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "oms.urls"
WSGI_APPLICATION = "oms.wsgi.application"
ASGI_APPLICATION = "oms.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "oms.backoffice.navigation.sidebar",
            ],
        },
    },
]

DATA_DIR = Path(os.environ.get("OMS_DATA_DIR", BASE_DIR / "var"))
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    # Persistent connections are checked before each request reuses one, so a
    # connection the server dropped while idle (restart, failover, an administrator's
    # pg_terminate_backend) is replaced instead of failing that request. The
    # PostgreSQL check looks at the socket instead of sending `SELECT 1`.
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=60, conn_health_checks=True
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["ENGINE"] = "oms.db.postgresql"
        # Parameters travel apart from the SQL, so psycopg does not quote them into
        # it: an import's one JSON parameter of a few hundred kilobytes was quoted
        # character by character (A/B: import +14%). It also lets the look-ups and
        # inserts of `oms.db.prepared` be prepared statements (the rest are not:
        # Django's default). Turn off behind a PgBouncer in transaction mode older
        # than 1.21, which cannot keep prepared statements.
        DATABASES["default"]["OPTIONS"] = {
            **DATABASES["default"].get("OPTIONS", {}),
            "server_side_binding": env_bool("DATABASE_SERVER_SIDE_BINDING", True),
        }
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "db.sqlite3",
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "backoffice:login"
LOGIN_REDIRECT_URL = "backoffice:dashboard"
LOGOUT_REDIRECT_URL = "backoffice:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
# WhiteNoise serves static files in every mode, from the finders when not collected.
WHITENOISE_USE_FINDERS = True

# Security headers; HTTPS-only cookies and redirects are switched on behind TLS.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Back-office pages (oms.backoffice.security): scripts and styles from this site
# only, no inline ones (not even style attributes); no framing, no plugins, forms
# post here.
OMS_CONTENT_SECURITY_POLICY = os.environ.get(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)
# Login throttle: failures per username and client address, in the cache. Behind
# reverse proxies, TRUSTED_PROXIES says how many: the client address is then read
# from X-Forwarded-For (oms.backoffice.security.client_address); 0 ignores it.
OMS_TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
OMS_LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
OMS_LOGIN_LOCKOUT_SECONDS = int(os.environ.get("LOGIN_LOCKOUT_SECONDS", "900"))
# Larger bodies are refused with a 413 (oms.api.request_size): JSON and forms by
# MAX_REQUEST_BYTES, multipart uploads (CSV files) by MAX_UPLOAD_BYTES.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(
    os.environ.get("MAX_REQUEST_BYTES", str(5 * 1024 * 1024))
)
OMS_MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES", str(50 * 1024 * 1024)))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "oms.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["oms.api.permissions.DenyAll"],
    "DEFAULT_PAGINATION_CLASS": "oms.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "oms.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "oms.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "OMS back-office API",
    "DESCRIPTION": "Orders, routing, fulfillment, payments, returns and inventory.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from this app's static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "oms.api.serializers.strict_request_bodies",
    ],
}

# Celery ---------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_EMBEDDED = not REDIS_URL
# The cache is shared by every web process in services mode (the login throttle
# counts there); in embedded mode one process, its memory.
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CELERY_QUEUE", "oms")
            + os.environ.get("PYTEST_XDIST_WORKER", ""),
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = CELERY_EMBEDDED
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
# Parallel test workers (pytest-xdist) each get their own queue and test database.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "oms") + (
    f"-{os.environ['PYTEST_XDIST_WORKER']}"
    if os.environ.get("PYTEST_XDIST_WORKER")
    else ""
)
# Remote control (the health check's worker ping) reaches only the workers of this
# queue: another deployment, or another test worker, sharing the Redis server would
# otherwise answer for workers this one does not have.
CELERY_CONTROL_EXCHANGE = CELERY_TASK_DEFAULT_QUEUE
# max_retries 0: a publish while the broker is down fails at once instead of
# retrying to connect for the connect timeout (~6 s per task, inside a request);
# enqueue() logs it and the sweeps re-derive the work. The worker's own consumer
# reconnects by broker_connection_retry, which this does not change.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "max_retries": 0}

# Dashboard figures are kept this long (seconds) in the cache, per user.
OMS_DASHBOARD_COUNTERS_TTL = int(os.environ.get("OMS_DASHBOARD_COUNTERS_TTL", "30"))
OMS_DASHBOARD_CHARTS_TTL = int(os.environ.get("OMS_DASHBOARD_CHARTS_TTL", "60"))
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
# Periodic sweeps. Deadlines live in the database; these only pick up what is due.
CELERY_BEAT_SCHEDULE = {
    "oms.sweep_outbox": {"task": "oms.sweep_outbox", "schedule": timedelta(seconds=15)},
    "oms.purge_idempotency_keys": {
        "task": "oms.purge_idempotency_keys",
        "schedule": timedelta(hours=1),
    },
    # Bulk jobs that no worker works on (lost message, killed worker) run again.
    "oms.resume_stale_jobs": {
        "task": "oms.resume_stale_jobs",
        "schedule": timedelta(seconds=30),
    },
}

# Background jobs ---------------------------------------------------------------------
# A task applies up to this many rows (or works this long) before it re-enqueues the
# rest of its job as a new message.
OMS_JOB_CHUNK_ROWS = int(os.environ.get("OMS_JOB_CHUNK_ROWS", "200"))
OMS_JOB_CHUNK_SECONDS = float(os.environ.get("OMS_JOB_CHUNK_SECONDS", "20"))
# A pending or running job without a sign of life this long is enqueued again.
OMS_JOB_STALE_SECONDS = int(os.environ.get("OMS_JOB_STALE_SECONDS", "120"))

# Events and webhooks ----------------------------------------------------------------
OMS_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("OMS_WEBHOOK_TIMEOUT_SECONDS", "10"))
# Webhooks to loopback/private addresses: allowed in embedded mode (a developer's
# machine), refused in services mode unless switched on.
OMS_WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool(
    "OMS_WEBHOOK_ALLOW_PRIVATE_TARGETS", CELERY_EMBEDDED
)
# How long a worker holds a delivery while posting it; a killed worker's claim expires.
OMS_WEBHOOK_CLAIM_SECONDS = int(os.environ.get("OMS_WEBHOOK_CLAIM_SECONDS", "120"))
# Delay before attempt n+1 (seconds); the sum is a little over 24 hours, then `failed`.
OMS_WEBHOOK_BACKOFF_SECONDS = [
    30,
    120,
    600,
    1800,
    3600,
    7200,
    14400,
    21600,
    21600,
    21600,
]
OMS_EVENT_FEED_MAX_PAGE = 500
OMS_IDEMPOTENCY_KEY_TTL_HOURS = int(
    os.environ.get("OMS_IDEMPOTENCY_KEY_TTL_HOURS", "48")
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}


# Payments ---------------------------------------------------------------------------
# JSON in the environment overrides each mapping, e.g.
# OMS_CHANNEL_PAYMENT_PROVIDER='{"web": "test", "pos": "test"}'.
OMS_CURRENCIES = env_json(
    "OMS_CURRENCIES",
    {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "CHF": 2, "SEK": 2},
)
OMS_PAYMENT_PROVIDERS = env_json(
    "OMS_PAYMENT_PROVIDERS", {"test": "payments.providers.test.TestProvider"}
)
OMS_DEFAULT_PAYMENT_PROVIDER = os.environ.get("OMS_DEFAULT_PAYMENT_PROVIDER", "test")
OMS_CHANNEL_PAYMENT_PROVIDER = env_json("OMS_CHANNEL_PAYMENT_PROVIDER", {})
OMS_AUTHORIZATION_TTL_DAYS = env_json("OMS_AUTHORIZATION_TTL_DAYS", {"test": 7})
OMS_DEFAULT_AUTHORIZATION_TTL_DAYS = 7
# Delay before automatic attempt n+1 of a transient provider failure (seconds); after
# the last one the transaction is `failed`, visible and retryable by hand.
OMS_PAYMENT_RETRY_BACKOFF_SECONDS = [10, 30, 120, 600, 1800]
CELERY_BEAT_SCHEDULE["payments.retry_due_transactions"] = {
    "task": "payments.retry_due_transactions",
    "schedule": timedelta(seconds=10),
}
# Named API enums: "status" means different things in different apps. Payment
# transactions share pending/succeeded/failed with webhook deliveries.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "PaymentAccountStatusEnum": "payments.models.AccountStatus",
        "ProcessingStatusEnum": "payments.models.TransactionStatus",
    }
)

# Orders -----------------------------------------------------------------------------
CELERY_BEAT_SCHEDULE.update(
    {
        # Open (or hold) orders whose grace period ended.
        "orders.open_due_orders": {
            "task": "orders.open_due_orders",
            "schedule": timedelta(seconds=30),
        },
        # Approve held orders whose approval rules now pass.
        "orders.recheck_held_orders": {
            "task": "orders.recheck_held_orders",
            "schedule": timedelta(minutes=5),
        },
        # Re-authorize payments that lapse within a day; failure → on hold.
        "orders.reauthorize_expiring_payments": {
            "task": "orders.reauthorize_expiring_payments",
            "schedule": timedelta(hours=1),
        },
    }
)

# Routing and fulfillment --------------------------------------------------------------
# Brokering runs are scheduled per rule set in django-celery-beat's tables (kept in step
# by `orders.routing.services`); these sweeps pick up what is due.
CELERY_IMPORTS = [*globals().get("CELERY_IMPORTS", []), "orders.routing.tasks"]
OMS_PICKUP_DEADLINE_DAYS = int(os.environ.get("OMS_PICKUP_DEADLINE_DAYS", "7"))
# A running brokering run holds a lease that its task extends after every batch; one
# whose lease ran out (its worker died) is failed at the rule set's next tick and a
# fresh run takes over. A queued run waits this long for a worker first.
OMS_BROKERING_RUN_LEASE_SECONDS = int(
    os.environ.get("OMS_BROKERING_RUN_LEASE_SECONDS", "120")
)
OMS_BROKERING_RUN_QUEUED_SECONDS = int(
    os.environ.get("OMS_BROKERING_RUN_QUEUED_SECONDS", "600")
)
CELERY_BEAT_SCHEDULE.update(
    {
        # Pre-orders and backorders whose promise date came and stock is there.
        "routing.release_parked_orders": {
            "task": "routing.release_parked_orders",
            "schedule": timedelta(minutes=10),
        },
        # Unfillable orders past their auto-cancel date are cancelled.
        "routing.auto_cancel_unfillable": {
            "task": "routing.auto_cancel_unfillable",
            "schedule": timedelta(minutes=15),
        },
        # Pickups not collected by their deadline: not_collected, order cancelled.
        "routing.expire_pickups": {
            "task": "routing.expire_pickups",
            "schedule": timedelta(minutes=15),
        },
        # Queue sizes over time, for the dashboard's chart.
        "routing.record_queue_sizes": {
            "task": "routing.record_queue_sizes",
            "schedule": timedelta(minutes=5),
        },
    }
)
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "FulfillmentRequestStatusEnum": (
            "orders.routing.models.FulfillmentRequestStatus"
        ),
        "BrokeringRunStatusEnum": "orders.routing.models.BrokeringRunStatus",
    }
)

# Workflows --------------------------------------------------------------------------
CELERY_IMPORTS = [*CELERY_IMPORTS, "orders.workflows.tasks"]
# How long a process keeps the workflow configuration before reading it again; edits
# made in this process apply at once, other processes see them within this time.
OMS_WORKFLOW_CONFIG_TTL_SECONDS = float(
    os.environ.get("OMS_WORKFLOW_CONFIG_TTL_SECONDS", "5")
)
# Delay before retry n of a failed step that runs after commit; then `error`.
OMS_WORKFLOW_RETRY_BACKOFF_SECONDS = [60, 300, 1800, 7200]
# A pending step still waiting this long after its transition lost its task (broker
# down at commit, worker killed): the sweep kicks it again.
OMS_WORKFLOW_PENDING_GRACE_SECONDS = 60
CELERY_BEAT_SCHEDULE["workflows.retry_due_runs"] = {
    "task": "workflows.retry_due_runs",
    "schedule": timedelta(seconds=30),
}
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "OrderFlowEnum": "orders.models.OrderFlow",
        "WorkflowStepConditionEnum": "orders.workflows.models.StepCondition",
        "ItemConditionEnum": "returns.models.ItemCondition",
    }
)
# Customer notifications: printed to the console unless an SMTP server is set.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "orders@localhost")

# Returns ----------------------------------------------------------------------------
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "ReturnStatusEnum": "returns.models.ReturnStatus",
        "ReturnReasonEnum": "returns.models.ReturnReason",
    }
)
