"""Settings of the store service (users, articles, stock, orders)."""

from .base import *  # noqa: F403
from .base import MIDDLEWARE, cache_from_env, database_from_env, env, rates_from_env, shared_secret

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "store_infra",
    "users",
    "articles",
    "stocks",
    "orders",
    "backoffice",
    # After store_infra, whose graphene/graphiql.html replaces graphene-django's page (which uses a CDN).
    "graphene_django",
]

ROOT_URLCONF = "store_manager.urls"
# Nothing in front of the store serves files (gunicorn does not, KrakenD CE cannot): WhiteNoise serves
# what `collectstatic` gathered in STATIC_ROOT (admin, browsable API, Swagger UI, GraphiQL, the report
# page), gzip- and brotli-compressed ahead of time, with cache headers; with DEBUG on, straight from
# the apps' folders.
MIDDLEWARE = MIDDLEWARE.copy()
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "whitenoise.middleware.WhiteNoiseMiddleware",
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Links the store builds (DRF's page links) name the host the client used through the gateway, which
# KrakenD sends as X-Forwarded-Host. Safe because core.proxies drops that header from anyone but a
# trusted proxy; the host must still be in ALLOWED_HOSTS. The payments service builds its public
# links from PAYMENTS_PUBLIC_URL and keeps the Host header.
USE_X_FORWARDED_HOST = True
WSGI_APPLICATION = "store_manager.wsgi.application"

DATABASES = {"default": database_from_env("store.sqlite3")}

CACHES = {"default": cache_from_env()}

AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = ["users.backends.RoleBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "users.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["users.permissions.IsStaff"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "core.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.errors.exception_handler",
    # Per user and role, reads and writes apart; rates in THROTTLE_RATES below (store_infra/throttling.py).
    "DEFAULT_THROTTLE_CLASSES": ["store_infra.throttling.RoleRateThrottle"],
}

# Requests per user (`<role>_read`, `<role>_write`: POST/PUT/PATCH/DELETE and GraphQL mutations), per
# client address when anonymous (`anon`), and token requests per address (`login`). Defence in depth:
# a bit looser than the gateway's per-client limit on any one route, so the gateway answers first,
# except where only the store can tell (a supplier's GraphQL mutations, customers); the numbers are
# explained in docs/adr/0009-throttling.md. Any of them can be set from the environment, e.g.
# THROTTLE_RATES=clerk_write=600/min,anon=240/min.
THROTTLE_RATES = rates_from_env(
    "THROTTLE_RATES",
    {
        "manager_read": "1500/min",
        "manager_write": "720/min",
        "clerk_read": "1500/min",
        "clerk_write": "720/min",
        "supplier_read": "1500/min",
        "supplier_write": "180/min",
        "customer_read": "600/min",
        "customer_write": "60/min",
        "anon": "60/min",
        "login": "20/min",
    },
)

SPECTACULAR_SETTINGS = {
    "TITLE": "Store Manager API",
    "DESCRIPTION": (
        "Back office of a small store: users, articles, stock and orders. "
        "Authenticate with `Authorization: Token <key>` (from `POST /api/v1/auth/token/`) "
        "or a session login. Every error has the same JSON shape (see `Error`)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The API description is public: reading it needs no account (drf-spectacular's default, said
    # here on purpose so a change of default cannot lock the docs away).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Swagger UI comes from the drf-spectacular-sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "users.models.Role",
        "OrderStatusEnum": "orders.models.OrderStatus",
        "MovementKindEnum": "stocks.models.MovementKind",
        "PaymentStatusEnum": "orders.models.PaymentStatus",
    },
}

# GraphQL at /graphql/ (store_infra/graphql/): the schema, and no debug middleware even with DEBUG on.
GRAPHENE = {"SCHEMA": "store_manager.schema.schema", "MIDDLEWARE": []}

IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)

# Versioned read caches (store_infra/cache.py); turning them off is for benchmarks and debugging.
READ_CACHE_ENABLED = env.bool("READ_CACHE_ENABLED", default=True)
READ_CACHE_TTL_SECONDS = env.int("READ_CACHE_TTL_SECONDS", default=300)
# How stale another process's view of the bumps made in the database (Redis unreachable) may be.
READ_CACHE_BUMPS_CHECK_SECONDS = env.float("READ_CACHE_BUMPS_CHECK_SECONDS", default=1.0)
# How long a process may reuse the versions a request read, instead of asking Redis at each request:
# another replica's writes are then seen that late at most (ADR 0006). 0: never stale.
READ_CACHE_VERSIONS_MAX_AGE_MS = env.int("READ_CACHE_VERSIONS_MAX_AGE_MS", default=0)

# The payments service (docs/adr/0005-payments-service.md): where it is, the secrets both services
# share, and how long an order waits for it (orders/payments_client.py). PAYMENTS_URL is its API root:
# the client appends `/payments/...` (the gateway's `/payments-api` in production, docs/adr/0008-gateway.md).
PAYMENTS_URL = env.str("PAYMENTS_URL", default="http://127.0.0.1:8001/api/v1")
PAYMENTS_SERVICE_TOKEN = shared_secret("PAYMENTS_SERVICE_TOKEN")
PAYMENTS_WEBHOOK_SECRET = shared_secret("PAYMENTS_WEBHOOK_SECRET")
PAYMENTS_CURRENCY = env.str("PAYMENTS_CURRENCY", default="CAD")
PAYMENTS_CONNECT_TIMEOUT = env.float("PAYMENTS_CONNECT_TIMEOUT", default=1.0)
PAYMENTS_READ_TIMEOUT = env.float("PAYMENTS_READ_TIMEOUT", default=3.0)
# Retries of safe or idempotent calls after a refused connection or a 5xx, and the first backoff.
PAYMENTS_RETRIES = env.int("PAYMENTS_RETRIES", default=2)
PAYMENTS_RETRY_BACKOFF = env.float("PAYMENTS_RETRY_BACKOFF", default=0.05)
# Consecutive failed attempts that open the circuit, and how long it stays open before a trial call.
PAYMENTS_BREAKER_THRESHOLD = env.int("PAYMENTS_BREAKER_THRESHOLD", default=5)
PAYMENTS_BREAKER_COOLDOWN = env.float("PAYMENTS_BREAKER_COOLDOWN", default=10.0)
