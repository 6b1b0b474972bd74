"""What a GraphQL document may cost, checked before anything runs (docs/adr/0007-graphql-for-suppliers.md).

In the order the checks run:

1. `parse_bounded`: the document's size and its number of tokens, before and while it is parsed
   (graphql-core stops at the first token past the limit): `query_too_large`.
2. Validation rules beside the specification's: the depth limit (graphene's own validator, with the
   code `query_too_deep`), and `QueryCostLimit`: at most MAX_ALIASES aliases, and at most MAX_COST
   fields to resolve, each field counted once per item of every list or page above it (`first`, or
   a page of MAX_PAGE_SIZE when it is a variable or left out): `query_too_costly`.

A refusal costs the parse of a bounded document, not its execution.
"""

from graphene.validation import depth_limit_validator
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSyntaxError,
    InlineFragmentNode,
    IntValueNode,
    KnownFragmentNamesRule,
    NoFragmentCyclesRule,
    OperationDefinitionNode,
    OperationType,
    SchemaMetaFieldDef,
    TypeMetaFieldDef,
    TypeNameMetaFieldDef,
    ValidationRule,
    get_named_type,
    parse,
    specified_rules,
    validate,
)

from .errors import graphql_error
from .pagination import MAX_PAGE_SIZE

MAX_QUERY_BYTES = 20_000
MAX_QUERY_TOKENS = 2_000
MAX_QUERY_DEPTH = 8
MAX_ALIASES = 30
MAX_COST = 10_000
# What a list of the schema's own introspection holds, at most, as the cost counts it.
INTROSPECTION_LIST_SIZE = 5
META_FIELDS = {"__schema": SchemaMetaFieldDef, "__type": TypeMetaFieldDef, "__typename": TypeNameMetaFieldDef}


def parse_bounded(query: str):
    """The document, parsed if it is small enough; a `query_too_large` GraphQLError otherwise."""
    if len(query.encode()) > MAX_QUERY_BYTES:
        raise graphql_error("query_too_large", f"The document is over {MAX_QUERY_BYTES} bytes.")
    try:
        return parse(query, no_location=True, max_tokens=MAX_QUERY_TOKENS)
    except GraphQLSyntaxError as error:
        # graphql-core's own limits: "Document contains more than N tokens", "Document is nested too
        # deeply" (before Python's stack would overflow).
        if "Parsing aborted" in error.message:
            raise graphql_error("query_too_large", error.message.removeprefix("Syntax Error: ")) from None
        raise


class QueryDepthLimit(depth_limit_validator(MAX_QUERY_DEPTH - 1)):
    """graphene's depth limit, with the store's error code.

    graphene counts the fields with fields below them (the last field of a path is not counted):
    MAX_QUERY_DEPTH fields on a path is MAX_QUERY_DEPTH - 1 for it. It follows every fragment spread
    without checking it: an unknown fragment would fail it, and a cycle of fragments would recurse
    without end, so it runs only on documents that the specification's KnownFragmentNames and
    NoFragmentCycles rules pass (they refuse the others). It measures when the rule is made, reporting through
    the context.
    """

    def __init__(self, context):
        if validate(context.schema, context.document, (KnownFragmentNamesRule, NoFragmentCyclesRule)):
            ValidationRule.__init__(self, context)
            return
        report = context.report_error
        context.report_error = lambda error: report(
            GraphQLError(
                f"The operation is deeper than {MAX_QUERY_DEPTH} fields.",
                error.nodes,
                extensions={"code": "query_too_deep"},
            )
        )
        try:
            super().__init__(context)
        finally:
            del context.report_error


class QueryCostLimit(ValidationRule):
    """The aliases and the fields an operation would resolve, counted on the schema (see the module)."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_):
        schema = self.context.schema
        root = schema.mutation_type if node.operation == OperationType.MUTATION else schema.query_type
        counter = _Cost(schema, self.context.get_fragment)
        cost = counter.of(node.selection_set, root, multiplier=1, depth=0)
        if counter.aliases > MAX_ALIASES:
            self._refuse(
                node, f"The operation has {counter.aliases} aliases; at most {MAX_ALIASES} are allowed."
            )
        elif cost > MAX_COST:
            self._refuse(
                node, f"The operation would resolve about {cost} fields; at most {MAX_COST} are allowed."
            )
        return self.SKIP

    def _refuse(self, node, message: str) -> None:
        self.report_error(GraphQLError(message, node, extensions={"code": "query_too_costly"}))


class _Cost:
    def __init__(self, schema, get_fragment):
        self.schema = schema
        self.get_fragment = get_fragment
        self.aliases = 0

    def of(self, selection_set, parent_type, *, multiplier: int, depth: int) -> int:
        if selection_set is None or parent_type is None:
            return 0
        # Counting stops past the depth limit (and so cannot exhaust Python's stack on a document
        # nested hundreds deep): graphene's depth rule refuses such a query, but for introspection,
        # which it does not measure; that is too costly here.
        if depth > MAX_QUERY_DEPTH:
            return MAX_COST + 1 if parent_type.name.startswith("__") else 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent_type, multiplier, depth)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                fragment_type = self.schema.get_type(condition.name.value) if condition else parent_type
                total += self.of(selection.selection_set, fragment_type, multiplier=multiplier, depth=depth)
            elif isinstance(selection, FragmentSpreadNode) and (
                fragment := self.get_fragment(selection.name.value)
            ):
                fragment_type = self.schema.get_type(fragment.type_condition.name.value)
                total += self.of(
                    fragment.selection_set, fragment_type, multiplier=multiplier, depth=depth + 1
                )
        return total

    def _field(self, node: FieldNode, parent_type, multiplier: int, depth: int) -> int:
        if node.alias is not None:
            self.aliases += 1
        definition = META_FIELDS.get(node.name.value) or getattr(parent_type, "fields", {}).get(
            node.name.value
        )
        if definition is None:  # an unknown field: the specification's rules refuse it
            return multiplier
        field_type = (
            definition.type.of_type if isinstance(definition.type, GraphQLNonNull) else definition.type
        )
        named = get_named_type(field_type)
        items = self._items(node, field_type, named, parent_type)
        # A type's wrapped type is a short chain, not a fan-out: GraphiQL's introspection nests
        # `ofType` seven times.
        deeper = depth if node.name.value == "ofType" else depth + 1
        below = self.of(node.selection_set, named, multiplier=multiplier * items, depth=deeper)
        return multiplier + below

    @staticmethod
    def _items(node: FieldNode, field_type, named, parent_type) -> int:
        """How many times the field's selections are resolved, for each time the field is."""
        if named.name.endswith("Connection"):
            first = next(
                (argument.value for argument in node.arguments if argument.name.value == "first"), None
            )
            return int(first.value) if isinstance(first, IntValueNode) else MAX_PAGE_SIZE
        if not isinstance(field_type, GraphQLList) or parent_type.name.endswith("Connection"):
            return 1  # a connection's edges are its page, counted once above
        # The schema's own lists (its types, a type's fields, ...) hold tens of items, not pages.
        return INTROSPECTION_LIST_SIZE if parent_type.name.startswith("__") else MAX_PAGE_SIZE


VALIDATION_RULES = (*specified_rules, QueryDepthLimit, QueryCostLimit)
