"""`/graphql/`: graphene-django's view behind the store's authentication, CSRF rules and limits.

- A token (`Authorization: Token <key>`, DRF's tokens) or a session login is required. Anonymous
  requests get 401 with a GraphQL error (`extensions.code` `not_authenticated`) and no data; a browser
  asking for the GraphiQL page is sent to the login page instead. Roles are checked per field
  (core/graphql/permissions.py), so an authenticated customer gets `permission_denied` errors.
- Token requests need no CSRF token (a browser never adds the header by itself); session requests
  keep Django's CSRF protection, as in DRF's SessionAuthentication.
- GraphiQL (core/templates/graphene/graphiql.html, no CDN) is shown to users who may run queries.
- Requests spend from the same per-user budgets as the REST API (core/throttling.py): a document with
  a mutation from the write budget, anything else from the read budget; over budget, 429 `throttled`
  with `Retry-After`, and nothing runs.
- A document is parsed only when it is small enough, and run only when it costs little enough
  (core/graphql/validation.py); a body that is not JSON, or JSON nested too deeply, is a 400.
"""

import functools
from collections.abc import Mapping

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from graphene_django.views import GraphQLView, HttpError
from graphql import ExecutionResult, GraphQLError, OperationDefinitionNode, OperationType
from rest_framework.exceptions import AuthenticationFailed, Throttled

from core.throttling import budget_for, spend
from users.authentication import CachedTokenAuthentication
from users.permissions import STOCK_READERS

from .errors import format_error
from .validation import VALIDATION_RULES, parse_bounded

WWW_AUTHENTICATE = {"WWW-Authenticate": "Token"}


def _refusal(status: int, code: str, message: str, headers=None) -> JsonResponse:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JsonResponse(body, status=status, headers=headers)


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason


def _csrf_failure(request) -> str | None:
    """Why Django's CSRF middleware would refuse this request, or None (it accepts safe methods)."""
    check = _CsrfCheck(lambda request: None)
    check.process_request(request)
    return check.process_view(request, None, (), {})


class StoreGraphQLView(GraphQLView):
    graphiql = True
    validation_rules = VALIDATION_RULES
    starters: Mapping[str, str] = {}  # role -> the query GraphiQL opens on for it

    def __init__(self, *, starters: Mapping[str, str] | None = None, **options):
        super().__init__(**options)
        self.starters = starters or {}

    def render_graphiql(self, request, **data):
        return super().render_graphiql(request, starter=self.starters.get(request.user.role, ""), **data)

    @classmethod
    def as_view(cls, **initkwargs):
        # CSRF is checked in dispatch, for session requests only.
        return csrf_exempt(super().as_view(**initkwargs))

    def dispatch(self, request, *args, **kwargs):
        writes = functools.cache(lambda: self._has_mutation(request))  # parsed once, when needed
        try:
            by_token = CachedTokenAuthentication().authenticate(request)
        except AuthenticationFailed as error:
            return _refusal(401, error.get_codes(), str(error.detail), WWW_AUTHENTICATE)
        user = by_token[0] if by_token else request.user
        wants_page = request.method == "GET" and self.can_display_graphiql(request, {})
        if not user.is_authenticated:
            if wants_page:
                return redirect_to_login(request.get_full_path(), reverse("rest_framework:login"))
            return _refusal(
                401, "not_authenticated", "Authentication credentials were not provided.", WWW_AUTHENTICATE
            )
        if not by_token:
            reason = _csrf_failure(request)
            if reason:
                return _refusal(403, "permission_denied", f"CSRF Failed: {reason}")
        if wants_page and user.role not in STOCK_READERS:
            raise PermissionDenied
        seconds_to_wait = spend(budget_for(request, user, writes=writes()))
        if seconds_to_wait is not None:
            throttled = Throttled(seconds_to_wait)
            return _refusal(429, "throttled", str(throttled.detail), {"Retry-After": str(throttled.wait)})
        request.user = user
        return super().dispatch(request, *args, **kwargs)

    def _has_mutation(self, request) -> bool:
        """Whether the document holds a mutation; one that cannot be read runs nothing, like a read."""
        if request.method != "POST":
            return False  # graphene runs only queries from a GET
        try:
            query = self.get_graphql_params(request, self.parse_body(request))[0]
            document = parse_bounded(query)
        except (HttpError, GraphQLError, TypeError, AttributeError):
            return False
        return any(
            isinstance(definition, OperationDefinitionNode) and definition.operation == OperationType.MUTATION
            for definition in document.definitions
        )

    def parse_body(self, request):
        try:
            return super().parse_body(request)
        except RecursionError:
            raise HttpError(HttpResponseBadRequest("The body is JSON nested too deeply.")) from None

    def execute_graphql_request(self, request, data, query, variables, operation_name, show_graphiql=False):
        """graphene's, once the document is known to be small enough to parse (graphene then parses it
        again: a bounded document costs little to parse twice)."""
        if isinstance(query, str) and query:
            try:
                parse_bounded(query)
            except GraphQLError as error:
                if error.extensions.get("code") == "query_too_large":
                    return ExecutionResult(errors=[error])
        return super().execute_graphql_request(request, data, query, variables, operation_name, show_graphiql)

    @staticmethod
    def format_error(error):
        return format_error(error)
