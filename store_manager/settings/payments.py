"""Settings of the payments service (docs/adr/0005-payments-service.md).

Its own process, apps, URLconf and database: none of the store's apps (nor Django's auth, sessions
or admin) are installed, so the store's tables never exist here and card data never reaches the
store's database. The store authenticates with a bearer service token; a paying client with the
payment's own secret in the URL.
"""

from .base import *  # noqa: F403
from .base import database_from_env, env, shared_secret

INSTALLED_APPS = [
    "rest_framework",
    "drf_spectacular",
    "payments",
]

# No sessions nor logins here (no ambient credentials to forge requests with): base's middleware
# without Django's contrib apps, which are not installed. CSRF stays on anyway, for whatever view ever
# gets added without DRF.
MIDDLEWARE = [name for name in MIDDLEWARE if not name.startswith("django.contrib.")]  # noqa: F405

# No page is rendered from a template here; the auth and messages context processors are not installed.
REQUEST_CONTEXT_ONLY = {"context_processors": ["django.template.context_processors.request"]}
TEMPLATES = [{**TEMPLATES[0], "OPTIONS": REQUEST_CONTEXT_ONLY}]  # noqa: F405

ROOT_URLCONF = "payments.urls"
WSGI_APPLICATION = "store_manager.wsgi.application"

DATABASES = {"default": database_from_env("payments.sqlite3", variable="PAYMENTS_DATABASE_URL")}

# The store calls with `Authorization: Bearer <PAYMENTS_SERVICE_TOKEN>`; notifications to the store
# are signed with PAYMENTS_WEBHOOK_SECRET.
PAYMENTS_SERVICE_TOKEN = shared_secret("PAYMENTS_SERVICE_TOKEN")
PAYMENTS_WEBHOOK_SECRET = shared_secret("PAYMENTS_WEBHOOK_SECRET")
# Where paying clients reach this service's API root (the gateway's /payments-api in production): every
# pay_url is it + `/payments/{id}/pay/{secret}/`.
PAYMENTS_PUBLIC_URL = env.str("PAYMENTS_PUBLIC_URL", default="http://127.0.0.1:8001/api/v1")
# Where the store listens for payment events.
STORE_URL = env.str("STORE_URL", default="http://127.0.0.1:8000")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["payments.api.authentication.ServiceTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "core.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.errors.exception_handler",
    # Django's auth is not installed: an unauthenticated request has no user at all.
    "UNAUTHENTICATED_USER": None,
    "UNAUTHENTICATED_TOKEN": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Store Manager payments API",
    "DESCRIPTION": (
        "The payments service. The store authenticates with `Authorization: Bearer <service token>`; "
        "a paying client uses the payment's `pay_url`, which carries the payment's own secret. "
        "Every error has the store's JSON error shape (see `Error`)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"PaymentStatusEnum": "payments.models.PaymentStatus"},
}
