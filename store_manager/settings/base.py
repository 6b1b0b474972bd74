"""Settings shared by every deployment: the store and the payments service.

Everything that differs between machines comes from the environment; the defaults give the
embedded setup (a SQLite file, an in-process cache) so a newcomer runs the store with one command.
"""

from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE

from core.logging import log_format, logging_config
from core.rates import parse_rate

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

# What a secret of production must be: long, varied, and not a value from a template or a README.
# SECRET_KEY by Django's own measure (its deployment check wants 50 characters), the others 32.
SECRET_KEY_MIN_LENGTH = 50
SECRET_MIN_LENGTH = 32
SECRET_MIN_DISTINCT_CHARACTERS = 10
PLACEHOLDERS = ("replace-me", "change-me", "changeme", "insecure", "example", "test-only")


def checked_secret(name: str, value: str, *, min_length: int = SECRET_MIN_LENGTH) -> str:
    """`value`, unless DEBUG is off and it is missing, short, repetitive or a placeholder: then the
    service stops at start, naming the variable."""
    if DEBUG:
        return value
    if not value:
        problem = "is required when DEBUG is off (set DEBUG=1 for local development)"
    elif any(placeholder in value.lower() for placeholder in PLACEHOLDERS):
        problem = "is a placeholder"
    elif len(value) < min_length:
        problem = f"is shorter than {min_length} characters"
    elif len(set(value)) < SECRET_MIN_DISTINCT_CHARACTERS:
        problem = f"has fewer than {SECRET_MIN_DISTINCT_CHARACTERS} distinct characters"
    else:
        return value
    raise environ.ImproperlyConfigured(f"{name} {problem}: make one with `openssl rand -hex 32`.")


SECRET_KEY = checked_secret(
    "SECRET_KEY", env.str("SECRET_KEY", default=""), min_length=SECRET_KEY_MIN_LENGTH
) or ("insecure-development-key-never-used-in-production")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

TIME_ZONE = "UTC"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Proxies whose X-Forwarded-For/-Proto are believed (comma-separated addresses or networks, e.g. the
# gateway's 172.28.0.10); empty trusts nobody. core.proxies drops those headers from anyone else, so
# SECURE_PROXY_SSL_HEADER only ever sees a trusted proxy's word: it must stay first in MIDDLEWARE.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Transport (docs/architecture.md, 8.17). TLS ends in front of the gateway, at whatever terminates
# it, which redirects plain HTTP to HTTPS and tells the gateway (X-Forwarded-Proto, forwarded by the
# gateway then) so that the services see requests as secure: they redirect nothing themselves.
# Cookies are for HTTPS only, and browsers are told to keep to HTTPS (sent on secure requests only).
# SECURE_COOKIES=0 is for a deployment on plain HTTP on this machine's loopback (`make stack`),
# which browsers treat as secure but other clients do not.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# What a page may load: nothing but the service's own scripts (no inline script: the admin, the
# report page, Swagger UI and GraphiQL load theirs from /static/), styles and images, and no framing.
# Inline styles stay allowed: the admin's templates and GraphiQL use them, and they run no code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SILENCED_SYSTEM_CHECKS = [
    "security.W008",  # SECURE_SSL_REDIRECT: the TLS terminator in front of the gateway redirects
    "security.W021",  # SECURE_HSTS_PRELOAD: a commitment for the domain's owner, not the code's
]

MIDDLEWARE = [
    "core.proxies.TrustedProxyMiddleware",
    # Then the request id (core/request_id.py) for every later log line, and the request metrics.
    "core.request_id.RequestIdMiddleware",
    "core.metrics_endpoint.MetricsEndpointMiddleware",
    "core.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"


# Django's engines, wrapped by django-prometheus's to count connections, statements and errors and to
# time each statement (`django_db_*` at /metrics): the same backends, one histogram observation more
# per statement.
INSTRUMENTED_ENGINES = {
    "django.db.backends.mysql": "django_prometheus.db.backends.mysql",
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
}
MYSQL_ENGINE = INSTRUMENTED_ENGINES["django.db.backends.mysql"]
# Statement times from a primary-key lookup (well under a millisecond) to a lock wait.
PROMETHEUS_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    float("inf"),
)


def database_from_env(default_sqlite_name: str, *, variable: str = "DATABASE_URL") -> dict:
    """One database from the URL in `variable` (DATABASE_URL by default), tuned per engine.

    MySQL/MariaDB: utf8mb4 and strict mode so bad data is refused rather than truncated.
    SQLite: IMMEDIATE transactions so concurrent writers queue instead of failing mid-transaction.
    Both through django-prometheus's instrumented engine (INSTRUMENTED_ENGINES).
    """
    VAR_DIR.mkdir(exist_ok=True)
    database = env.db_url(variable, default=f"sqlite:///{VAR_DIR / default_sqlite_name}")
    engine = database["ENGINE"]
    if engine == "django.db.backends.mysql":
        database.setdefault("OPTIONS", {}).update(
            {
                "charset": "utf8mb4",
                "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
                # Locked reads see the latest committed row (docs/adr/0001-stock-locking.md).
                "isolation_level": "read committed",
            }
        )
        database["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
        database["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
        database["CONN_HEALTH_CHECKS"] = True
    elif engine == "django.db.backends.sqlite3":
        database.setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
    database["ENGINE"] = INSTRUMENTED_ENGINES.get(engine, engine)
    return database


# What the secrets shared by the store and payments services are in development (DEBUG on only):
# one place, so that both services agree without any configuration.
_DEVELOPMENT_SHARED_SECRETS = {
    "PAYMENTS_SERVICE_TOKEN": "insecure-development-payments-token",
    "PAYMENTS_WEBHOOK_SECRET": "insecure-development-webhook-secret",
}


def shared_secret(name: str) -> str:
    """A secret both services hold; like SECRET_KEY, checked unless DEBUG is on."""
    return checked_secret(name, env.str(name, default="")) or _DEVELOPMENT_SHARED_SECRETS[name]


def cache_from_env() -> dict:
    """The default cache: Redis when REDIS_URL is set, an in-process cache otherwise."""
    redis_url = env.str("REDIS_URL", default="")
    if not redis_url:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": redis_url,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="store"),
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            # A cache that does not answer quickly is treated as down, never waited for.
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
        },
    }


def rates_from_env(variable: str, defaults: dict[str, str]) -> dict[str, str]:
    """`defaults`, with the rates `variable` gives (`clerk_write=600/min,anon=120/min`) in their place.

    An unknown scope or a malformed rate stops the service at start rather than being ignored.
    """
    rates = env.dict(variable, default={})
    for scope, rate in rates.items():
        if scope not in defaults:
            raise environ.ImproperlyConfigured(
                f"{variable}: unknown scope {scope!r} (known: {', '.join(defaults)})."
            )
        if parse_rate(rate) is None:
            raise environ.ImproperlyConfigured(
                f"{variable}: {scope}={rate!r} is not a rate like 600/min (per s, min, hour or day)."
            )
    return {**defaults, **rates}


# JSON lines with the request id (core/logging.py); LOG_FORMAT=plain for text, the default with DEBUG on.
LOGGING = logging_config(log_format=log_format(debug=DEBUG), level=env.str("LOG_LEVEL", default="INFO"))

# `/metrics` (core/metrics.py) is on the internal network only; when set, it also needs this bearer token.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
