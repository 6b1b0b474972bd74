"""Validation rules added to the GraphQL specification's own: a maximum operation depth.

The schema has cycles (a stock level's article has a stock level, ...), so without a limit one small
query could ask for an answer of any size. Depth counts the fields on the longest path, through
fragments; `ofType` is not counted: a type's wrapped type is a short chain, not a fan-out, and
GraphiQL's introspection query nests it seven times.
"""

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    specified_rules,
)

MAX_QUERY_DEPTH = 8
_UNCOUNTED_FIELDS = frozenset({"ofType"})


class _Depths:
    """Depths of selection sets; a fragment is measured once, whatever the number of its spreads."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]):
        self.fragments = fragments
        self.known: dict[str, int] = {}
        self.measuring: set[str] = set()

    def of(self, selection_set: SelectionSetNode | None) -> int:
        if selection_set is None:
            return 0
        return max((self._selection(selection) for selection in selection_set.selections), default=0)

    def _selection(self, selection) -> int:
        if isinstance(selection, FieldNode):
            below = self.of(selection.selection_set)
            return below if selection.name.value in _UNCOUNTED_FIELDS else below + 1
        if isinstance(selection, InlineFragmentNode):
            return self.of(selection.selection_set)
        if isinstance(selection, FragmentSpreadNode):
            return self._fragment(selection.name.value)
        return 0

    def _fragment(self, name: str) -> int:
        # Unknown and cyclic fragments count 0 here: the specification's rules refuse them.
        if name in self.known:
            return self.known[name]
        if name in self.measuring or name not in self.fragments:
            return 0
        self.measuring.add(name)
        self.known[name] = self.of(self.fragments[name].selection_set)
        self.measuring.discard(name)
        return self.known[name]


class QueryDepthLimit(ValidationRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_):
        fragments = {
            definition.name.value: definition
            for definition in self.context.document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        depth = _Depths(fragments).of(node.selection_set)
        if depth > MAX_QUERY_DEPTH:
            self.report_error(
                GraphQLError(
                    f"The operation is {depth} fields deep; at most {MAX_QUERY_DEPTH} are allowed.",
                    node,
                    extensions={"code": "query_too_deep"},
                )
            )
        return self.SKIP


VALIDATION_RULES = (*specified_rules, QueryDepthLimit)
