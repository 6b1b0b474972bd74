"""`/graphql/`: graphene-django's view behind the store's authentication, CSRF rules and limits.

- A token (`Authorization: Token <key>`, DRF's tokens) or a session login is required. Anonymous
  requests get 401 with a GraphQL error (`extensions.code` `not_authenticated`) and no data; a browser
  asking for the GraphiQL page is sent to the login page instead. Roles are checked per field
  (core/graphql/permissions.py), so an authenticated customer gets `permission_denied` errors.
- Token requests need no CSRF token (a browser never adds the header by itself); session requests
  keep Django's CSRF protection, as in DRF's SessionAuthentication.
- GraphiQL (core/templates/graphene/graphiql.html, no CDN) is shown to users who may run queries.
"""

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from graphene_django.views import GraphQLView
from rest_framework.exceptions import AuthenticationFailed

from users.authentication import CachedTokenAuthentication
from users.permissions import STOCK_READERS

from .errors import format_error
from .validation import VALIDATION_RULES

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

    @classmethod
    def as_view(cls, **initkwargs):
        # CSRF is checked in dispatch, for session requests only.
        return csrf_exempt(super().as_view(**initkwargs))

    def dispatch(self, request, *args, **kwargs):
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
        request.user = user
        return super().dispatch(request, *args, **kwargs)

    @staticmethod
    def format_error(error):
        return format_error(error)
