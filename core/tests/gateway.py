"""krakend.json read and checked against a service's URLconf (docs/adr/0008-gateway.md).

Both test runs use it: the store's (core/tests/test_gateway.py, which also checks the file as a
whole) and the payments service's (payments/tests/test_gateway.py). Each check returns the list of
what is wrong, so that a failure names every faulty route at once.
"""

import fnmatch
import re
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from django.test import Client
from django.urls import Resolver404, get_resolver, resolve
from django.urls.resolvers import URLResolver

from scripts.gateway import PAYMENTS_HOST, STORE_HOST

REPO = Path(__file__).resolve().parents[2]


def _shared_folders() -> list[Path]:
    """Where the read-only `shared/` folder may be: beside the repository, or, for a clone made
    elsewhere (CI's), beside the repository it was cloned from."""
    places = [REPO.parent / "shared"]
    origin = subprocess.run(
        ["git", "-C", str(REPO), "config", "--get", "remote.origin.url"], capture_output=True, text=True
    ).stdout.strip()
    origin = origin.removeprefix("file://")
    if origin.startswith("/"):
        places.append(Path(origin).parent / "shared")
    return places


SHARED_PLACES = _shared_folders()
SHARED = next((place for place in SHARED_PLACES if place.is_dir()), SHARED_PLACES[0])
SCHEMA_FOLDER = SHARED / "krakend-schema"


def schema_missing(path: Path) -> str:
    """The failure of a test that needs KrakenD's schema (from `shared/`) and has not got it."""
    looked = " or ".join(str(place) for place in SHARED_PLACES)
    return f"{path} is absent: KrakenD's schema comes from the shared folder, looked for at {looked}"


KRAKEND_VERSION = "v2.13"
SCHEMA_URL = f"https://www.krakend.io/schema/{KRAKEND_VERSION}/krakend.json"

# Gateway path prefix -> the service's own prefix (the deployment decisions of issue 6).
PREFIXES = {
    STORE_HOST: (("/store-api/", "/api/v1/"), ("/graphql", "/graphql/")),
    PAYMENTS_HOST: (("/payments-api/", "/api/v1/"),),
}
# Headers every route forwards: request correlation. Not X-Forwarded-Proto: nothing terminates TLS in
# front of the gateway, so it would be the client's word (docs/adr/0008-gateway.md).
ALWAYS_FORWARDED = frozenset({"x-request-id"})
# The header that tells a service under which gateway prefix its API root is published (core/proxies.py).
PREFIX_HEADER = "x-forwarded-prefix"
# The header that tells the services the gateway follows their redirects (core/proxies.py).
FOLLOWS_REDIRECTS_HEADER = "x-gateway-follows-redirects"
STATIC_PREFIX = "/static/"
# What a staff page's route forwards, beside X-Request-Id: the session cookie and content negotiation
# (the browsable API answers HTML to a browser), and for a form or a script's write its body and what
# Django's CSRF check reads (the token, Origin, and Referer under HTTPS).
BROWSER_READ_HEADERS = frozenset({"accept", "cookie"})
BROWSER_WRITE_HEADERS = BROWSER_READ_HEADERS | {
    "content-type",
    "content-length",
    "origin",
    "referer",
    "x-csrftoken",
}
# A static file's revalidation (WhiteNoise answers 304), and the encodings the browser takes (WhiteNoise
# has each file gzipped ahead of time; unasked, KrakenD would ask for gzip itself and unzip it).
STATIC_HEADERS = frozenset({"accept-encoding", "if-modified-since", "if-none-match"})
# The longest a route's own work (database, cache) may take: the floor of every gateway timeout.
OWN_WORK_SECONDS = 2.0
# What the gateway routes: OPTIONS is answered by KrakenD itself (CORS preflight), HEAD not at all.
ROUTED_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
# Views that take every method in `dispatch` rather than in per-method handlers.
DISPATCH_METHODS = {"graphene_django.views.GraphQLView": frozenset({"GET", "POST"})}

# Namespaces of KrakenD Enterprise only, per scope (a namespace can be CE in one scope and EE in
# another: `telemetry/logging` is CE for the service, EE for a backend). The schema marks most with
# "Enterprise only"; the others here are Enterprise features its descriptions do not flag.
_SHARED_ENTERPRISE = {"auth/api-keys", "auth/basic", "documentation/openapi", "documentation/postman"}
_BODY_MODIFIERS = {
    "modifier/jmespath",
    "modifier/request-body-generator",
    "modifier/response-body",
    "modifier/response-body-generator",
}
ENTERPRISE_NAMESPACES = {
    "service": frozenset(
        _SHARED_ENTERPRISE
        | {
            "ai/mcp",
            "governance/processors",
            "governance/quota",
            "grpc",
            "modifier/request-body-extractor",
            "modifier/response-headers",
            "qos/ratelimit/service",
            "qos/ratelimit/service/redis",
            "qos/ratelimit/tiered",
            "redis",
            "server/static-filesystem",
            "server/virtualhost",
        }
    ),
    "endpoint": frozenset(
        _SHARED_ENTERPRISE
        | _BODY_MODIFIERS
        | {
            "ai/mcp",
            "governance/quota",
            "modifier/request-body-extractor",
            "modifier/request-body-extractor/early",
            "plugin/middleware",
            "qos/ratelimit/router/redis",
            "qos/ratelimit/tiered",
            "security/cors",
            "security/policies",
            "telemetry/opentelemetry",
            "validation/response-json-schema",
            "websocket",
        }
    ),
    "backend": frozenset(
        _BODY_MODIFIERS
        | {
            "ai/llm",
            "auth/aws-sigv4",
            "auth/gcp",
            "auth/ntlm",
            "backend/conditional",
            "backend/grpc",
            "backend/http/client",
            "backend/pubsub/publisher/kafka",
            "backend/pubsub/subscriber/kafka",
            "backend/soap",
            "backend/static-filesystem",
            "governance/quota",
            "modifier/body-generator",
            "qos/circuit-breaker/http",
            "security/policies",
            "telemetry/logging",
            "telemetry/opentelemetry",
            "validation/response-json-schema",
            "workflow",
        }
    ),
}
# Router options of KrakenD Enterprise only.
ENTERPRISE_ROUTER_OPTIONS = frozenset({"decompress_gzip", "disable_gzip", "max_payload"})


@dataclass(frozen=True, eq=False)  # hashed by identity: a route is one entry of krakend.json
class Route:
    """One gateway endpoint and its one backend."""

    method: str
    endpoint: str
    host: str
    url_pattern: str
    backend_method: str
    timeout: float
    headers: frozenset[str]  # lower-case: KrakenD matches them case-insensitively
    query_strings: frozenset[str]
    rate_limit: dict
    circuit_breaker: dict | None
    added_headers: dict[str, str]  # set on the backend request by the gateway itself; names lower-case

    def __str__(self) -> str:
        return f"{self.method} {self.endpoint}"

    @property
    def for_browsers(self) -> bool:
        """A staff page (admin, browsable API, GraphiQL, static files): published at the store's own
        path, with session cookies. Programs' routes are published under a prefix of their own."""
        return self.endpoint == self.url_pattern

    @property
    def static(self) -> bool:
        """A static file, served by WhiteNoise's middleware before any URL is resolved."""
        return self.endpoint.startswith(STATIC_PREFIX)


def namespaces(config: dict) -> dict[str, set[str]]:
    """The extra_config namespaces the configuration uses, per scope."""
    used = {"service": set(config.get("extra_config", {})), "endpoint": set(), "backend": set()}
    for endpoint in config["endpoints"]:
        used["endpoint"] |= set(endpoint.get("extra_config", {}))
        for backend in endpoint["backend"]:
            used["backend"] |= set(backend.get("extra_config", {}))
    return used


def seconds(duration: str) -> float:
    """A Go duration ("2500ms", "1m30s") in seconds."""
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", duration)
    if not parts or "".join(number + unit for number, unit in parts) != duration:
        raise ValueError(f"not a duration: {duration!r}")
    return sum(float(number) * units[unit] for number, unit in parts)


def routes(config: dict) -> list[Route]:
    found = []
    for endpoint in config["endpoints"]:
        backend = (endpoint.get("backend") or [{}])[0]
        found.append(
            Route(
                method=endpoint.get("method", "GET"),
                endpoint=endpoint["endpoint"],
                host=(backend.get("host") or [""])[0],
                url_pattern=backend.get("url_pattern", ""),
                backend_method=backend.get("method", endpoint.get("method", "GET")),
                timeout=seconds(endpoint.get("timeout", config.get("timeout", "2s"))),
                headers=frozenset(header.lower() for header in endpoint.get("input_headers", [])),
                query_strings=frozenset(endpoint.get("input_query_strings", [])),
                rate_limit=endpoint.get("extra_config", {}).get("qos/ratelimit/router", {}),
                circuit_breaker=backend.get("extra_config", {}).get("qos/circuit-breaker"),
                added_headers=added_headers(backend.get("extra_config", {}).get("modifier/martian", {})),
            )
        )
    return found


def added_headers(martian: dict) -> dict[str, str]:
    """The request headers a backend's Martian modifiers set: `header.Modifier`s, alone or in groups."""
    found = {}
    for kind, modifier in martian.items():
        if kind == "header.Modifier" and "request" in modifier.get("scope", []):
            found[modifier["name"].lower()] = modifier["value"]
        elif kind in ("fifo.Group", "priority.Group"):
            for member in modifier.get("modifiers", []):
                found |= added_headers(member.get("modifier", member))
    return found


def per_second(rate: float, rate_limit: dict) -> float:
    return rate / seconds(rate_limit.get("every", "1s"))


# Placeholder values naming something real: the admin's app and model (every admin URL exists for
# users.user, its password page included); any other placeholder is an id.
PLACEHOLDER_SAMPLES = {"app_label": "users", "model_name": "user"}


def concrete(pattern: str, *, id: str = "1") -> str:
    """The pattern with every placeholder filled with a value the service's URLconf accepts."""
    return re.sub(r"\{([^}/]+)\}", lambda match: PLACEHOLDER_SAMPLES.get(match.group(1), id), pattern)


def sample_path(route: str) -> str:
    """A path the URLconf route (as ResolverMatch.route spells it) matches: converters and regex
    groups filled with an id, alternatives (`(?P<app_label>users|articles)`) with their first one."""
    path = re.sub(r"\(\?P<\w+>([^()]*)\)", lambda match: _sample_group(match.group(1)), route)
    path = re.sub(r"<[^>]+>", "1", path)
    return "/" + path.removeprefix("^").removesuffix("$")


def _sample_group(pattern: str) -> str:
    first = pattern.split("|")[0]
    return first if re.fullmatch(r"[\w-]+", first) else "1"


def backend_matches(route: Route, path: str) -> bool:
    """Whether the route's backend path pattern takes `path` (a placeholder is one segment)."""
    regex = re.sub(r"\\\{[^}/]+\\\}", "[^/]+", re.escape(route.url_pattern))
    return re.fullmatch(regex, path) is not None


def endpoint_matches(route: Route, path: str) -> dict | None:
    """The endpoint's placeholders taken from `path`, or None when `path` is not this endpoint's."""
    regex = re.sub(r"\\\{([^}/]+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.endpoint))
    match = re.fullmatch(regex, path)
    return match.groupdict() if match else None


# --- the service's side ---------------------------------------------------------------------------


def view_methods(callback) -> frozenset[str]:
    """The methods a resolved view answers (a viewset's routed actions, a class's handlers); any
    method for a plain function view, which does not say."""
    actions = getattr(callback, "actions", None)
    if actions:  # DRF adds `head` to it once the view served a GET
        return frozenset(method.upper() for method in actions) & ROUTED_METHODS
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is None:
        return ROUTED_METHODS
    for klass in view_class.__mro__:
        if f"{klass.__module__}.{klass.__qualname__}" in DISPATCH_METHODS:
            return DISPATCH_METHODS[f"{klass.__module__}.{klass.__qualname__}"]
    handled = {method.upper() for method in view_class.http_method_names if hasattr(view_class, method)}
    return frozenset(handled & ROUTED_METHODS)


def service_routes(urlconf: str) -> list[tuple[str, frozenset[str]]]:
    """Every (route, methods) of the URLconf, routes spelt as Django's ResolverMatch.route spells them.

    DRF's format-suffix twins (`orders.json`) are left out: the same views, rendered by extension.
    """

    def walk(patterns, prefix):
        for pattern in patterns:
            text = str(pattern.pattern)
            route = prefix + (text.removeprefix("^") if prefix else text)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif "format" not in pattern.pattern.regex.groupindex:
                yield route, view_methods(pattern.callback)

    return list(walk(get_resolver(urlconf).url_patterns, ""))


def backend_route(route: Route, urlconf: str):
    """The ResolverMatch of the route's backend path in the URLconf (Resolver404 when none)."""
    return resolve(concrete(route.url_pattern), urlconf)


def backend_problems(gateway: Iterable[Route], urlconf: str) -> list[str]:
    problems = []
    for route in gateway:
        try:
            match = backend_route(route, urlconf)
        except Resolver404:
            problems.append(f"{route}: {route.url_pattern} resolves to no view")
            continue
        if route.backend_method not in view_methods(match.func):
            problems.append(f"{route}: {match.view_name} does not answer {route.backend_method}")
    return problems


def exposure_problems(gateway: Iterable[Route], urlconf: str, not_exposed: dict[tuple[str, str], str]):
    """Every method of every route is on the gateway or, with a reason, in `not_exposed`.

    A route is on the gateway when some gateway route's backend pattern takes a path the route
    matches, with its method. `not_exposed` maps (methods as `PUT|PATCH` or "*", route or glob of
    routes as fnmatch reads them) to why they are not exposed.
    """
    gateway = list(gateway)
    problems, used = [], set()
    for path, methods in service_routes(urlconf):
        sample = sample_path(path)
        for method in sorted(methods):
            exposed = any(
                route.backend_method == method and backend_matches(route, sample) for route in gateway
            )
            reasons = [key for key in not_exposed if _listed(key, method, path)]
            used.update(reasons)
            if exposed and reasons:
                problems.append(f"{method} {path} is on the gateway but listed as not exposed")
            elif not exposed and not reasons:
                problems.append(f"{method} {path} is neither on the gateway nor listed as not exposed")
    problems += [f"{key} is listed as not exposed but matches no route" for key in set(not_exposed) - used]
    return problems


def _listed(key: tuple[str, str], method: str, path: str) -> bool:
    listed_methods, listed_route = key
    methods = ROUTED_METHODS if listed_methods == "*" else listed_methods.split("|")
    return method in methods and fnmatch.fnmatchcase(path, listed_route)


def needs_authentication(client: Client, method: str, path: str) -> bool:
    """Whether the service refuses an anonymous request (401 or 403) on this path."""
    send = getattr(client, method.lower())
    if method in ("POST", "PUT", "PATCH"):
        response = send(path, data="{}", content_type="application/json")
    else:
        response = send(path)
    return response.status_code in (401, 403)


def authentication_needs(routes: Iterable[Route], django_db_blocker) -> Callable[[Route], bool]:
    """Whether each route's view refuses an anonymous request (reads only, nothing written)."""
    client = Client()
    with django_db_blocker.unblock():
        needed = {
            route: needs_authentication(client, route.backend_method, concrete(route.url_pattern))
            for route in routes
        }
    return needed.__getitem__


def authentication_problems(gateway: Iterable[Route], needs_auth: Callable[[Route], bool]) -> list[str]:
    """On programs' routes, Authorization is forwarded, and clients are counted by it, exactly where
    the view needs it; elsewhere clients are counted by their IP."""
    problems = []
    for route in gateway:
        needed = needs_auth(route)
        if ("authorization" in route.headers) != needed:
            problems.append(f"{route}: the view {'needs' if needed else 'takes no'} Authorization")
        keyed = (route.rate_limit.get("strategy"), route.rate_limit.get("key"))
        expected = ("header", "Authorization") if needed else ("ip", None)
        if keyed != expected:
            problems.append(f"{route}: clients keyed by {keyed}, expected {expected}")
    return problems


# --- what the views document (OpenAPI) --------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    query: frozenset[str]
    headers: frozenset[str]  # lower-case
    has_body: bool
    not_modified: bool  # answers 304 to If-None-Match


def openapi_operations(schema: dict, urlconf: str) -> dict[tuple[str, str], Operation]:
    """(method, route) -> what the OpenAPI schema says the operation accepts."""
    operations = {}
    for path, item in schema["paths"].items():
        route = resolve(concrete(path), urlconf).route
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            parameters = operation.get("parameters", [])
            operations[(method.upper(), route)] = Operation(
                query=frozenset(p["name"] for p in parameters if p["in"] == "query"),
                headers=frozenset(p["name"].lower() for p in parameters if p["in"] == "header"),
                has_body="requestBody" in operation,
                not_modified="304" in operation.get("responses", {}),
            )
    return operations


def forwarding_problems(
    gateway: Iterable[Route],
    urlconf: str,
    operations: dict[tuple[str, str], Operation],
    needs_auth: Callable[[Route], bool],
) -> list[str]:
    """The query strings and headers forwarded are exactly those the operation takes."""
    problems = []
    for route in gateway:
        key = (route.backend_method, backend_route(route, urlconf).route)
        operation = operations.get(key)
        if operation is None:
            problems.append(f"{route}: {key} is not described")
            continue
        if route.query_strings != operation.query:
            forwarded, taken = sorted(route.query_strings), sorted(operation.query)
            problems.append(f"{route}: forwards query strings {forwarded}, the view takes {taken}")
        expected = set(ALWAYS_FORWARDED | operation.headers)
        expected |= {"authorization"} if needs_auth(route) else set()
        # Content-Length too: without it KrakenD streams the body chunked, which Django reads as empty.
        expected |= {"content-type", "content-length"} if operation.has_body else set()
        expected |= {"if-none-match"} if operation.not_modified else set()
        if route.headers != expected:
            problems.append(f"{route}: forwards headers {sorted(route.headers)}, needs {sorted(expected)}")
    return problems


def browser_problems(gateway: Iterable[Route]) -> list[str]:
    """Staff pages forward the session cookie and what a page or form sends, never Authorization;
    static files forward only their revalidation; both count clients by their IP."""
    problems = []
    for route in gateway:
        if route.static:
            expected = STATIC_HEADERS
        else:
            expected = BROWSER_READ_HEADERS if route.method == "GET" else BROWSER_WRITE_HEADERS
        if route.headers != ALWAYS_FORWARDED | expected:
            problems.append(
                f"{route}: forwards {sorted(route.headers)}, expected {sorted(ALWAYS_FORWARDED | expected)}"
            )
        if route.rate_limit.get("strategy") != "ip":
            problems.append(
                f"{route}: clients keyed by {route.rate_limit.get('strategy')}, expected their IP"
            )
        if route.query_strings != (frozenset() if route.static else frozenset({"*"})):
            problems.append(f"{route}: forwards query strings {sorted(route.query_strings)}")
    return problems
