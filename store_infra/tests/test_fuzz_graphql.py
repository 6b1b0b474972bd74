"""GraphQL fuzzing of `/graphql/`: queries and mutations generated from the schema, valid or not.

Documents come from hypothesis-graphql (valid ones, and ones that break the schema's types), sent as
a supplier, a clerk or a manager. In half of them every SKU and id is made to name one of the shelf's
articles, so that deliveries are booked or refused for their quantities and limits, not only for an
unknown SKU. Whatever the document:

- the answer is never a 5xx, is JSON, and every GraphQL error has a code that is not an internal one
  (a resolver's unexpected exception is answered 200 `internal_error`: a hidden 500);
- a delivery is booked in full or not at all: a mutation answered with errors (in its payload or in
  the response) leaves every stock row and the ledger as they were, and one that is not refused adds
  exactly its lines to the ledger; the ledger still explains every stock level.

And what attackers send (issue 13): a generated query's root field repeated under up to 300 aliases
(refused as `query_too_costly` past MAX_ALIASES), text variables holding NUL, lone surrogates and
other odd characters in every text argument (refused as REST refuses them, nothing booked), and
bodies nested thousands deep.
"""

import itertools
from collections import Counter

import pytest
from graphql import (
    FieldNode,
    IntValueNode,
    NameNode,
    OperationDefinitionNode,
    StringValueNode,
    Visitor,
    parse,
    print_ast,
    value_from_ast_untyped,
    visit,
)
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, queries

from core.tests.fuzzing import HOSTILE_TEXT, fuzz_settings
from core.tests.graphql import GraphQLClient
from stocks.models import Stock, StockMovement
from stocks.tests.invariants import assert_stock_matches_ledger
from store_infra.graphql.validation import MAX_ALIASES
from store_manager.schema import schema

pytestmark = pytest.mark.django_db

ROLES = ["supplier", "clerk", "manager"]
SCHEMA = schema.graphql_schema
MODES = st.sampled_from([Mode.POSITIVE, Mode.POSITIVE, Mode.NEGATIVE])
QUERIES = MODES.flatmap(lambda mode: queries(SCHEMA, mode=mode))
MUTATIONS = st.tuples(st.sampled_from(["restock", "restockMany"]), MODES).flatmap(
    lambda field_and_mode: mutations(SCHEMA, fields=[field_and_mode[0]], mode=field_and_mode[1])
)
# Codes of errors the client did not cause: a failure of the store itself.
SERVER_FAILURES = {"internal_error", "database_unavailable"}
# Aimed quantities are 1 to this many units: enough for the capacities to refuse some deliveries.
MOST_UNITS_AIMED = 50
# Added to a mutation's selection, so that the test sees whether it was refused.
REFUSALS = parse("{ fuzzRefusals: errors { code } }").definitions[0].selection_set.selections[0]


class _AimAtShelf(Visitor):
    """Makes every `sku` and id literal name one of the shelf's articles (each SKU in turn: a delivery
    of more items than the shelf has repeats one), and a delivery's reference and quantities fit."""

    def __init__(self, shelf, first: int):
        super().__init__()
        self.skus = itertools.islice(itertools.cycle([article.sku for article in shelf]), first, None)
        self.ids = itertools.islice(itertools.cycle([str(article.pk) for article in shelf]), first, None)

    def enter_argument(self, node, *_):
        return self._aimed(node)

    def enter_object_field(self, node, *_):
        return self._aimed(node)

    def _aimed(self, node):
        name = node.name.value
        if name == "sku":
            value = next(self.skus)
        elif name in {"id", "articleId"}:
            value = next(self.ids)
        elif name == "reference":
            value = "DN-fuzz"
        elif name == "quantity" and isinstance(node.value, IntValueNode):
            units = str(abs(int(node.value.value)) % MOST_UNITS_AIMED + 1)
            return node.__class__(name=node.name, value=IntValueNode(value=units))
        else:
            return None
        return node.__class__(name=node.name, value=StringValueNode(value=value))


def _aimed_document(document: str, data, shelf):
    """Half of the documents, parsed, name the shelf's articles; the others as they were generated."""
    if not data.draw(st.booleans()):
        return parse(document)
    return visit(parse(document), _AimAtShelf(shelf, first=data.draw(st.integers(0, len(shelf) - 1))))


def _stock_rows() -> tuple:
    return (
        list(Stock.objects.values_list("article_id", "quantity", "min_quantity", "max_quantity")),
        list(StockMovement.objects.values_list("id", flat=True)),
    )


def _post(client: GraphQLClient, document) -> dict:
    response = client.post(print_ast(document))
    assert response.status_code < 500, response.content
    body = response.json()
    failures = [
        error
        for error in body.get("errors") or []
        if (error.get("extensions") or {}).get("code") in SERVER_FAILURES
        or not (error.get("extensions") or {}).get("code")
    ]
    assert not failures, failures
    return body


def _root_field(document) -> FieldNode:
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return operation.selection_set.selections[0]


def _delivered_lines(field: FieldNode) -> list[tuple[str, int]]:
    """The (sku, quantity) lines a restock or restockMany document asks to book."""
    arguments = {argument.name.value: value_from_ast_untyped(argument.value) for argument in field.arguments}
    items = arguments["items"] if field.name.value == "restockMany" else [arguments]
    return [(item["sku"], item["quantity"]) for item in items]


@pytest.fixture
def shelf(shelf, stocked_article):
    """The GraphQL tests' shelf and three more articles, one of them with a small capacity."""
    return (*shelf, stocked_article(0), stocked_article(5, stock__max_quantity=60), stocked_article(1))


@pytest.fixture(params=ROLES)
def client(request):
    user = request.getfixturevalue(request.param)
    return GraphQLClient(user)


@given(document=QUERIES, data=st.data())
@fuzz_settings(max_examples=60)
def test_generated_queries_never_fail_on_the_servers_side(client, shelf, document, data):
    _post(client, _aimed_document(document, data, shelf))


def test_generated_deliveries_are_booked_in_full_or_not_at_all(client, shelf):
    outcomes = Counter()

    @given(document=MUTATIONS, data=st.data())
    @fuzz_settings(max_examples=60)
    def deliver(document, data):
        document = _aimed_document(document, data, shelf)
        field = _root_field(document)
        if field.selection_set is not None:
            field.selection_set.selections = (*field.selection_set.selections, REFUSALS)
        before = _stock_rows()

        body = _post(client, document)

        payload = (body.get("data") or {}).get(field.alias.value if field.alias else field.name.value)
        if body.get("errors") or payload is None or payload["fuzzRefusals"]:
            assert _stock_rows() == before
            outcomes["refused"] += 1
            return
        booked = StockMovement.objects.exclude(id__in=before[1]).select_related("article")
        assert sorted((m.article.sku, m.delta) for m in booked) == sorted(_delivered_lines(field))
        assert_stock_matches_ledger()
        outcomes["booked"] += 1

    deliver()
    print(f"deliveries: {dict(outcomes)}")
    assert outcomes["booked"] and outcomes["refused"], outcomes  # both sides of the promise were tried


def _aliased(document: str, count: int):
    """The document's first root field, repeated `count` times under aliases."""
    document = parse(document)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    field = operation.selection_set.selections[0]
    operation.selection_set.selections = tuple(
        FieldNode(
            alias=NameNode(value=f"a{n}"),
            name=field.name,
            arguments=field.arguments,
            directives=field.directives,
            selection_set=field.selection_set,
        )
        for n in range(count)
    )
    return document


def _codes(body: dict) -> list:
    return [(error.get("extensions") or {}).get("code") for error in body.get("errors") or []]


@given(document=QUERIES, count=st.integers(1, 300))
@fuzz_settings(max_examples=30)
def test_generated_queries_repeated_under_many_aliases_are_refused_past_the_limit(
    client, shelf, document, count
):
    body = _post(client, _aliased(document, count))

    if count > MAX_ALIASES:  # refused on its aliases, or before, on its size
        assert "data" not in body
        assert {"query_too_costly", "query_too_large"} & set(_codes(body)), body


# Each text argument of the schema, as a variable.
TEXT_ARGUMENTS = [
    "query($text: String) { articles(search: $text) { totalCount } }",
    "query($text: String) { stockReport(search: $text) { totals { articles } } }",
    "query($text: String) { stock(sku: $text) { quantity } }",
    "query($text: String) { article(sku: $text) { id } }",
    "query($text: String) { stockMovements(sku: $text) { totalCount } }",
    "query($text: String) { articles(after: $text) { totalCount } }",
    "query($text: ID) { article(id: $text) { id } }",
    'mutation($text: String!) { restock(sku: $text, quantity: 1, reference: "DN") { errors { code } } }',
    'mutation($text: String!) { restock(sku: "TEA-1", quantity: 1, reference: $text) { errors { code } } }',
    'mutation($text: String!) { restockMany(reference: $text, items: [{sku: "TEA-1", quantity: 1}]) '
    "{ errors { code } } }",
]


@given(document=st.sampled_from(TEXT_ARGUMENTS), text=HOSTILE_TEXT)
@fuzz_settings(max_examples=80)
def test_odd_text_in_any_argument_is_answered_as_rest_answers_it(client, shelf, document, text):
    before = _stock_rows()

    body = client.post(document, {"text": text})

    assert body.status_code < 500, body.content
    answer = body.json()
    failures = [code for code in _codes(answer) if code in SERVER_FAILURES or not code]
    assert not failures, answer
    if "\x00" in text or any(0xD800 <= ord(character) <= 0xDFFF for character in text):
        assert _stock_rows() == before  # text no field may hold is never booked
        assert answer.get("errors") or any(
            payload and payload.get("errors") for payload in (answer.get("data") or {}).values()
        ), answer


@given(depth=st.integers(1, 6_000), opening=st.sampled_from(["[", '{"query": ']))
@fuzz_settings(max_examples=20)
def test_bodies_nested_deeply_are_refused_without_a_server_error(client, depth, opening):
    closing = "]" if opening == "[" else "}"
    body = opening * depth + "1" + closing * depth

    response = client.post_raw(body)

    assert response.status_code < 500, response.content
