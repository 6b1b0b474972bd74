"""`X-Forwarded-*` headers, believed only from the proxies we run: the gateway (TRUSTED_PROXIES).

Behind KrakenD every request's peer is the gateway, so the client's address, the scheme, host and
path prefix it used come from the headers the gateway adds. Anyone reaching a service directly could
send the same headers, so `TrustedProxyMiddleware` honours them only when the peer is a trusted proxy
and removes them otherwise. It runs first: Django's SECURE_PROXY_SSL_HEADER (`request.is_secure()`)
and USE_X_FORWARDED_HOST (`request.get_host()`) read the headers from whoever sent them, and the
throttles key anonymous clients by REMOTE_ADDR.

The gateway publishes the API root `/api/v1` under another prefix (`/store-api`) and says so in
X-Forwarded-Prefix; `request.path` then becomes the path the client asked for, so the links built
from it (`build_absolute_uri()`: DRF's page links) work through the gateway, while URL resolution
keeps using the service's own `request.path_info`.

KrakenD CE follows a backend's redirects itself (its HTTP client's default; not following is an
Enterprise option): a 302 answered to the gateway would never reach the browser, which would get the
page the gateway fetched instead, without the cookies the 302 set (an admin login would never stick).
So the gateway's routes for browsers say `X-Gateway-Follows-Redirects: 1`, and on those requests,
from a trusted proxy only, a redirect is answered as a page that sends the browser on: 200 with a
`Refresh` header and a link to the absolute URL, every other header and cookie kept
(docs/adr/0008-gateway.md).
"""

import ipaddress
import re
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.utils.html import format_html

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
    "HTTP_X_GATEWAY_FOLLOWS_REDIRECTS",
)
# The service path a forwarded prefix stands for (both services mount their API there).
API_ROOT = "/api/v1"
# Path segments of unreserved characters, none starting with a dot (no `.` or `..`).
FORWARDED_PREFIX = re.compile(r"(?:/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+")
FORWARDED_PREFIX_MAX_LENGTH = 200


@lru_cache(maxsize=8)
def trusted_networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """TRUSTED_PROXIES parsed: each entry an address (`172.28.0.10`) or a network (`10.0.0.0/8`)."""
    networks = []
    for entry in entries:
        try:
            # strict: `172.28.0.10/24` is refused rather than silently trusting the whole /24.
            networks.append(ipaddress.ip_network(entry.strip(), strict=True))
        except ValueError as error:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES: {entry!r} is not an IP address or network: {error}"
            ) from error
    return tuple(networks)


def parse_address(text: str) -> IPAddress | None:
    """An address as proxies write it (`203.0.113.7`, `203.0.113.7:5678`, `[2001:db8::1]:443`), or None.

    IPv4-mapped IPv6 addresses (`::ffff:203.0.113.7`) come back as the IPv4 address they stand for.
    """
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return getattr(address, "ipv4_mapped", None) or address


def _is_trusted(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(address in network for network in networks)


def client_address(peer: IPAddress, forwarded_for: str, networks: tuple[IPNetwork, ...]) -> IPAddress:
    """The client behind a trusted `peer`: the right-most X-Forwarded-For hop that is not a trusted proxy.

    Each proxy appends the address it was reached from, so hops left of the first untrusted one were
    written by the client and prove nothing. A hop that cannot be read ends the walk at the trusted
    proxy that wrote it; when every hop is a trusted proxy, the request began at the left-most one.
    """
    origin = peer
    for hop in reversed(forwarded_for.split(",")):
        address = parse_address(hop)
        if address is None:
            return origin
        if not _is_trusted(address, networks):
            return address
        origin = address
    return origin


def _nearest(value: str) -> str:
    """The right-most of a comma-separated header: what the nearest trusted proxy wrote.

    Django reads the whole value (X-Forwarded-Host) or the left-most one (X-Forwarded-Proto), which
    a client may have written.
    """
    return value.rsplit(",", 1)[-1].strip()


def public_path(path_info: str, forwarded_prefix: str) -> str | None:
    """`path_info` as the client asked for it through a proxy publishing API_ROOT at `forwarded_prefix`.

    None when the prefix is not a plain path (it is then ignored) or the path is not under API_ROOT.
    """
    too_long = len(forwarded_prefix) > FORWARDED_PREFIX_MAX_LENGTH
    if too_long or not FORWARDED_PREFIX.fullmatch(forwarded_prefix):
        return None
    if path_info != API_ROOT and not path_info.startswith(f"{API_ROOT}/"):
        return None
    return forwarded_prefix + path_info.removeprefix(API_ROOT)


def apply_forwarded_headers(meta: dict) -> None:
    """Sets REMOTE_ADDR, X-Forwarded-Proto and -Host from a trusted proxy's headers; drops anyone else's."""
    networks = trusted_networks(tuple(settings.TRUSTED_PROXIES))
    peer = parse_address(meta.get("REMOTE_ADDR", ""))
    if peer is None or not _is_trusted(peer, networks):
        for header in FORWARDED_HEADERS:
            meta.pop(header, None)
        return
    forwarded_for = meta.get("HTTP_X_FORWARDED_FOR")
    if forwarded_for:
        meta["REMOTE_ADDR"] = str(client_address(peer, forwarded_for, networks))
    for header in ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST"):
        nearest = _nearest(meta.get(header, ""))
        if nearest:
            meta[header] = nearest
        else:
            # An empty host would fail ALLOWED_HOSTS: the request's own Host is the better answer.
            meta.pop(header, None)


REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def as_followable_page(redirect: HttpResponse, request) -> HttpResponse:
    """A redirect made into a page that sends the browser on, for a proxy that follows redirects.

    The target is made absolute first: a browser reads a `Refresh` URL more loosely than a
    `Location` (it drops a leading quote, so `'//elsewhere.example` would leave the site).
    """
    location = request.build_absolute_uri(redirect["Location"])
    page = HttpResponse(
        format_html(
            '<!DOCTYPE html><html><head><meta http-equiv="refresh" content="0; url={0}">'
            '<title>Redirecting</title></head><body><p>Continue to <a href="{0}">{0}</a>.</p></body></html>',
            location,
        ),
        headers={"Refresh": f"0; url={location}", "Cache-Control": "no-store"},
    )
    for header, value in redirect.items():
        if header.lower() not in ("location", "content-type", "content-length", "cache-control"):
            page[header] = value
    page.cookies = redirect.cookies
    return page


class TrustedProxyMiddleware:
    """First in MIDDLEWARE (store and payments): see the module docstring."""

    def __init__(self, get_response):
        self.get_response = get_response
        # A malformed TRUSTED_PROXIES stops the service when it loads, not at its first request.
        trusted_networks(tuple(settings.TRUSTED_PROXIES))

    def __call__(self, request):
        apply_forwarded_headers(request.META)
        forwarded_prefix = request.META.get("HTTP_X_FORWARDED_PREFIX")
        if forwarded_prefix:
            request.path = public_path(request.path_info, _nearest(forwarded_prefix)) or request.path
        response = self.get_response(request)
        followed = request.META.get("HTTP_X_GATEWAY_FOLLOWS_REDIRECTS") == "1"  # a trusted proxy's only
        if followed and response.status_code in REDIRECT_STATUSES and response.has_header("Location"):
            return as_followable_page(response, request)
        return response
