"""OpenAPI generation: every operation documents the error answers it can give, in the one shape.

Statuses every door can produce are added automatically (bad input, authentication, permission,
unknown id, throttling, database down). Business errors are declared by the view in `domain_errors`,
a map from action (or HTTP method, lower-case) to the `DomainError` classes the service may raise.
"""

from collections import defaultdict

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import is_serializer
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class ErrorSerializer(serializers.Serializer):
    status = serializers.IntegerField(help_text="The HTTP status, repeated for convenience.")
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. `insufficient_stock`.")
    message = serializers.CharField(help_text="Human-readable explanation.")
    fields = serializers.DictField(
        child=serializers.JSONField(), help_text="Messages per input field (may be nested)."
    )
    details = serializers.DictField(
        child=serializers.JSONField(), help_text="Facts about the error, e.g. the short lines."
    )

    class Meta:
        ref_name = "Error"


GENERIC_ERRORS = {
    "400": "`invalid` (field errors in `fields`) or `parse_error` (malformed JSON).",
    "401": "`not_authenticated` or `authentication_failed`.",
    "403": "`permission_denied`: the user's role may not do this.",
    "404": "`not_found`.",
    "429": "`throttled`: over the caller's request budget; retry after `Retry-After` seconds.",
    "503": "`database_unavailable` or `service_busy`; retry after `Retry-After` seconds.",
}


class AutoSchema(SpectacularAutoSchema):
    def _generic_error_statuses(self) -> list[str]:
        statuses = ["503"]
        if not all(p is AllowAny for p in self.view.permission_classes):
            statuses += ["401", "403"]
        if "{" in self.path or self._is_list_view():
            statuses.append("404")
        if self.method in ("POST", "PUT", "PATCH") or self._is_list_view() or self._reads_query():
            statuses.append("400")
        if self.view.get_throttles():
            statuses.append("429")
        return statuses

    def _reads_query(self) -> bool:
        """Whether the view validates query parameters it declares (a report's `limit`, `since`, ...)."""
        return any(
            is_serializer(parameter)
            or (isinstance(parameter, OpenApiParameter) and parameter.location == OpenApiParameter.QUERY)
            for parameter in self.get_override_parameters()
        )

    def _domain_errors(self) -> dict[str, list]:
        declared = getattr(self.view, "domain_errors", {})
        action = getattr(self.view, "action", None)
        classes = declared.get(action, declared.get(self.method.lower(), []))
        by_status = defaultdict(list)
        for error_class in classes:
            by_status[str(error_class.status_code)].append(error_class)
        return by_status

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        descriptions = defaultdict(list)
        for status in self._generic_error_statuses():
            descriptions[status].append(GENERIC_ERRORS[status])
        for status, classes in self._domain_errors().items():
            descriptions[status] += [f"`{c.code}`: {c.default_message}" for c in classes]
        for status in sorted(descriptions):
            if status in responses:
                continue
            text = " ".join(dict.fromkeys(descriptions[status]))
            responses[status] = self._get_response_for_code(
                OpenApiResponse(ErrorSerializer, description=text), status, direction=direction
            )
        return responses
