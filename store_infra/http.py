"""Answering API reads from a cached JSON result, with ETags."""

import hashlib
from collections.abc import Callable

from django.http import HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags
from rest_framework.response import Response

from .cache import CachedJSON, CachedRead


def cached_json_response(request, result: CachedJSON):
    """The cached bytes as they are for JSON clients (304 when `If-None-Match` names them).

    The browsable API still renders its page from the data.
    """
    headers = {"ETag": result.etag, "Cache-Control": "private, no-cache"}
    if request.accepted_renderer.format != "json":
        return Response(result.data, headers=headers)
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and (result.etag in parse_etags(if_none_match) or if_none_match.strip() == "*"):
        return HttpResponseNotModified(headers=headers)
    return HttpResponse(result.body, content_type="application/json", headers=headers)


def cached_answer(request, cached: CachedRead, read: Callable[[], Response], *, reader: str = ""):
    """A DRF read's answer (`read()`: the view's own list or retrieve) from the read cache while none
    of the models `cached` depends on changed: for JSON clients, once authenticated, allowed and
    throttled like any request. The entry is keyed by the whole address (host, path, query string:
    its page links are absolute) and by `reader` when the answer also depends on who asks (the
    customer whose orders it lists). An error (404, a bad filter) is answered as usual and not
    cached. The browsable API renders its page from `read()` itself."""
    if request.accepted_renderer.format != "json":
        return read()
    address = hashlib.blake2b(request.build_absolute_uri().encode(), digest_size=16).hexdigest()
    return cached_json_response(request, cached.get(f"{reader}:{address}", compute=lambda: read().data))
