"""GraphQL errors with the REST API's codes.

Two kinds, as GraphQL clients expect them:

- A mutation refused by a business rule answers with data: its payload's `errors` list holds
  `MutationError`s (`code`, `message`, `field`) and nothing is written.
- Everything else is a GraphQL error in the response's `errors`, with `extensions.code`: a domain
  error raised by a resolver keeps its code (`not_found`, ...), a bad argument is `invalid`, a query
  the schema refuses is `graphql_validation_failed` (`graphql_parse_failed` when it does not parse),
  and an unexpected exception is logged and shown as `internal_error` without its message.
"""

import logging

import graphene
from graphene.utils.str_converters import to_camel_case
from graphql import GraphQLError, GraphQLSyntaxError

from core.errors import DATABASE_ERRORS, DomainError, database_unavailable_body

logger = logging.getLogger(__name__)


class MutationError(graphene.ObjectType):
    """Why a mutation changed nothing. `code` is the REST API's code for the same refusal."""

    code = graphene.String(required=True, description="Stable code, e.g. `stock_limit_exceeded`.")
    message = graphene.String(required=True)
    field = graphene.String(
        description="The input at fault as a path (`quantity`, `items.2.sku`); null for the whole input."
    )


def mutation_error(error: DomainError) -> MutationError:
    """A domain error as mutation data, on the first field the error names."""
    return MutationError(code=error.code, message=error.message, field=next(iter(error.fields), None))


def graphql_error(code: str, message: str, **extensions) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **extensions})


def invalid_argument(name: str, message: str) -> GraphQLError:
    return graphql_error("invalid", message, field=name)


def _with_code(formatted: dict, code: str, message: str | None = None, **extensions) -> dict:
    formatted["extensions"] = {**(formatted.get("extensions") or {}), "code": code, **extensions}
    if message is not None:
        formatted["message"] = message
    return formatted


def format_error(error) -> dict:
    """One GraphQL error as sent to the client, always with `extensions.code`."""
    if not isinstance(error, GraphQLError):
        # graphene-django's HttpError (bad JSON, no query, GET mutation) or an input graphql-core
        # refused before executing anything (a query that is not a string, variables not an object).
        response = getattr(error, "response", None)
        code = "method_not_allowed" if getattr(response, "status_code", None) == 405 else "bad_request"
        return {"message": str(getattr(error, "message", error)), "extensions": {"code": code}}
    formatted = error.formatted
    if (formatted.get("extensions") or {}).get("code"):
        return formatted
    original = error.original_error
    if isinstance(original, DomainError):
        extensions = {"details": original.details} if original.details else {}
        if original.fields:  # the argument refused first, named as in the schema
            extensions["field"] = to_camel_case(next(iter(original.fields)))
        return _with_code(formatted, original.code, original.message, **extensions)
    if isinstance(original, DATABASE_ERRORS):
        unavailable = database_unavailable_body()
        return _with_code(formatted, unavailable["code"], unavailable["message"])
    if original is not None and not isinstance(original, GraphQLError):
        logger.error("GraphQL resolver failed at %s", error.path, exc_info=original)
        return _with_code(formatted, "internal_error", "Internal error.")
    if isinstance(error, GraphQLSyntaxError):
        return _with_code(formatted, "graphql_parse_failed")
    return _with_code(formatted, "graphql_validation_failed")
