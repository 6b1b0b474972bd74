"""Typed domain errors and the one JSON error shape of the whole API.

Every error answer looks like::

    {"status": 409, "code": "insufficient_stock", "message": "...", "fields": {}, "details": {...}}

`fields` holds per-field messages for bad input, `details` the facts a client needs to react
(for instance which lines are short of stock).
"""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from . import metrics


class DomainError(Exception):
    """A business rule refused the operation. Subclasses set a stable `code` and HTTP status."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"
    default_message = "The request breaks a business rule."

    def __init__(self, message: str | None = None, *, field: str | None = None, fields=None, details=None):
        self.message = message or self.default_message
        self.fields = fields or ({field: [self.message]} if field else {})
        self.details = details or {}
        super().__init__(self.message)


class NotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    default_message = "Not found."


class Conflict(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    default_message = "The request conflicts with the current state."


class ServiceBusy(DomainError):
    """Raised when a transaction kept losing lock races; the client may simply retry."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "service_busy"
    default_message = "The store is busy; please retry in a moment."


def error_body(*, status_code: int, code: str, message: str, fields=None, details=None) -> dict:
    return {
        "status": status_code,
        "code": code,
        "message": message,
        "fields": fields or {},
        "details": details or {},
    }


# What a request that lost its database answers, whichever door it came through (DRF's handler
# here, Django's handler500 in core.views for the others: GraphQL, the admin).
DATABASE_ERRORS = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER = {"Retry-After": "5"}


def database_unavailable_body() -> dict:
    return error_body(
        status_code=503,
        code="database_unavailable",
        message="The database is unavailable; please retry shortly.",
    )


def _field_errors(detail: Any) -> dict:
    if isinstance(detail, dict):
        return detail
    return {"non_field_errors": detail if isinstance(detail, list) else [detail]}


def exception_handler(exc, context):
    """DRF's exception handler, rewritten to produce the one error shape."""
    if isinstance(exc, DomainError):
        metrics.DOMAIN_ERRORS.labels(exc.code).inc()
        body = error_body(
            status_code=exc.status_code,
            code=exc.code,
            message=exc.message,
            fields=exc.fields,
            details=exc.details,
        )
        headers = {"Retry-After": "1"} if isinstance(exc, ServiceBusy) else None
        return Response(body, status=exc.status_code, headers=headers)
    if isinstance(exc, DATABASE_ERRORS):
        return Response(database_unavailable_body(), status=503, headers=DATABASE_RETRY_AFTER)
    if isinstance(exc, IntegrityError):
        # Constraints are the last line of defence; a request that trips one lost a race.
        body = error_body(
            status_code=409, code="conflict", message="The change conflicts with existing data."
        )
        return Response(body, status=409)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))

    response = drf_exception_handler(exc, context)
    if response is None:
        return None

    if isinstance(exc, exceptions.ValidationError):
        code, message, fields = "invalid", "Invalid input.", _field_errors(exc.detail)
    elif isinstance(exc, Http404):
        code, message, fields = "not_found", "Not found.", {}
    elif isinstance(exc, DjangoPermissionDenied):
        code, message, fields = "permission_denied", "You do not have permission.", {}
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
        code = codes if isinstance(codes, str) else "error"
        message, fields = str(getattr(exc, "detail", exc)), {}
    response.data = error_body(status_code=response.status_code, code=code, message=message, fields=fields)
    return response
