"""Answering API reads from a cached JSON result, with ETags."""

from django.http import HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags
from rest_framework.response import Response

from .cache import CachedJSON


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
