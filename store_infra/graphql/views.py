"""`/graphql/`: graphene-django's view behind DRF, which lets a request in exactly as for REST.

- DRF's authentication, the API's default classes: a token (`Authorization: Token <key>`) or a
  session login, whose requests need the CSRF token as on every session request (DRF's
  SessionAuthentication), in the `X-CSRFToken` header. Anonymous requests get 401 with a GraphQL
  error (`extensions.code` `not_authenticated`) and no data; a browser asking for the GraphiQL page
  is sent to the login page instead. Permissions are checked per field (store_infra/graphql/permissions.py),
  so an authenticated customer gets `permission_denied` errors; GraphiQL
  (store_infra/templates/graphene/graphiql.html, no CDN) is shown to holders of `page_permission` only.
- DRF's throttling, with the REST API's per-user budgets (store_infra/throttling.py): a document with a
  mutation spends from the write budget, anything else from the read budget; over budget, 429
  `throttled` with `Retry-After`, and nothing runs.
- A document is parsed only when it is small enough, and run only when it costs little enough
  (store_infra/graphql/validation.py); a body that is not JSON, or JSON nested too deeply, is a 400.
"""

from collections.abc import Mapping

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseBadRequest, JsonResponse
from django.urls import reverse
from graphene_django.views import GraphQLView, HttpError
from graphql import ExecutionResult, GraphQLError, OperationDefinitionNode, OperationType
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from store_infra.throttling import BudgetThrottle, budget_for

from .errors import format_error
from .validation import VALIDATION_RULES, parse_bounded


class _GrapheneView(GraphQLView):
    """graphene-django's view, run once DRF let the request in: GraphiQL, parsing and execution."""

    graphiql = True
    validation_rules = VALIDATION_RULES

    def __init__(self, *, starters: Mapping[str, str], **options):
        super().__init__(**options)
        self.starters = starters  # role -> the query GraphiQL opens on for it

    def render_graphiql(self, request, **data):
        return super().render_graphiql(request, starter=self.starters.get(request.user.role, ""), **data)

    def has_mutation(self, request) -> bool:
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

    format_error = staticmethod(format_error)


class _AnyAccept(DefaultContentNegotiation):
    """graphene answers in JSON or with the GraphiQL page itself; DRF renders only refusals, in JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class _LeftToGraphene(BaseParser):
    """Any body, left unread for graphene: DRF's CSRF check then takes the token from the header only
    (`X-CSRFToken`, which GraphiQL sends), not from a form field."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


class _GraphiQLPagePermission(BasePermission):
    def has_permission(self, request, view):
        return not view.wants_page(request) or request.user.has_perm(view.page_permission)


class DocumentRateThrottle(BudgetThrottle):
    """A document with a mutation spends from its user's write budget, any other from the read one."""

    def budget(self, request, view):
        return budget_for(request, request.user, writes=view.graphene.has_mutation(request._request))


class StoreGraphQLView(APIView):
    """`/graphql/` on DRF: its authentication (tokens, sessions with CSRF), permissions, throttles."""

    http_method_names = ["get", "post"]
    schema = None  # not in the REST API's OpenAPI: GraphQL describes itself (introspection)
    permission_classes = [IsAuthenticated, _GraphiQLPagePermission]
    throttle_classes = [DocumentRateThrottle]
    renderer_classes = [JSONRenderer]
    parser_classes = [_LeftToGraphene]
    content_negotiation_class = _AnyAccept
    page_permission = ""  # the permission that opens GraphiQL, named by the URLconf
    graphene_options: Mapping = {}  # _GrapheneView's: the schema, the starters

    def initial(self, request, *args, **kwargs):
        self.graphene = _GrapheneView(**self.graphene_options)
        self.graphene.setup(request._request, *args, **kwargs)
        super().initial(request, *args, **kwargs)

    def wants_page(self, request) -> bool:
        return request.method == "GET" and self.graphene.can_display_graphiql(request._request, {})

    def get(self, request, *args, **kwargs):
        return self.graphene.dispatch(request._request, *args, **kwargs)

    post = get

    def handle_exception(self, exc):
        """Refusals as GraphQL errors with a code, no data; an anonymous browser to the login page."""
        if isinstance(exc, exceptions.NotAuthenticated) and self.wants_page(self.request):
            return redirect_to_login(self.request.get_full_path(), reverse("rest_framework:login"))
        if not isinstance(exc, exceptions.APIException):
            return super().handle_exception(exc)
        headers = {}
        if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
            exc.status_code, headers["WWW-Authenticate"] = 401, self.get_authenticate_header(self.request)
        if isinstance(exc, exceptions.Throttled):
            headers["Retry-After"] = str(exc.wait)
        body = {"errors": [{"message": str(exc.detail), "extensions": {"code": exc.get_codes()}}]}
        return JsonResponse(body, status=exc.status_code, headers=headers)
