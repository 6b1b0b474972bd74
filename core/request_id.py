"""One id per request, in every log line of that request and in every call it makes to payments.

`RequestIdMiddleware` takes the caller's `X-Request-Id` when it is a plausible id (the gateway's or
another of our services'), or makes a new one, and answers with it. The id is untrusted input: it
is written into log lines, so only a short run of safe characters is accepted (no spaces, quotes or
line breaks to forge a line with); anything else is replaced rather than refused, since a request
must never fail because of its correlation id.

The id lives in a context variable while the request is served: `core.logging.RequestIdFilter`
adds it to log records and `orders.payments_client` sends it on.
"""

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.signals import request_finished

HEADER = "X-Request-Id"
# Long enough for a UUID (36), a W3C trace id (32) or a traceparent (55).
MAX_LENGTH = 64
_VALID = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_LENGTH}}}")

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served by this thread, None outside a request."""
    return _current.get()


def accepted_request_id(incoming: str | None) -> str:
    """`incoming` when it is a valid id, a new id otherwise."""
    if incoming and _VALID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


@contextmanager
def bound_request_id(request_id: str) -> Iterator[str]:
    """Run the block as part of the request `request_id` (commands, background work, tests)."""
    token = _current.set(request_id)
    try:
        yield request_id
    finally:
        _current.reset(token)


def _forget_request_id(**kwargs) -> None:
    _current.set(None)


class RequestIdMiddleware:
    """Early in MIDDLEWARE (after the trusted-proxy one), so that the later middlewares' log lines
    carry the id too.

    The id stays set until the response is closed (`request_finished`), not just until the
    middleware returns: Django logs a 4xx or 5xx answer after the whole middleware chain.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        request_finished.connect(_forget_request_id, dispatch_uid="core.request_id.forget")

    def __call__(self, request):
        request_id = accepted_request_id(request.META.get("HTTP_X_REQUEST_ID"))
        _current.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response
