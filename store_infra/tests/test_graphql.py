"""The /graphql/ endpoint as a whole: authentication, CSRF, roles on every root field, what the schema
does not expose, GraphiQL without a CDN, limits, and bad requests that never end in a 500."""

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from graphene.utils.str_converters import to_camel_case
from graphql import get_introspection_query
from rest_framework.authtoken.models import Token

from core.tests.graphql import URL, GraphQLClient, error_codes
from stocks import selectors as stock_selectors
from stocks.models import Stock, StockMovement
from store_infra.graphql.validation import MAX_ALIASES, MAX_QUERY_DEPTH, MAX_QUERY_TOKENS
from store_manager.schema import Mutation, Query
from users.models import Role
from users.permissions import role_grants

RESTOCK = 'mutation { restock(sku: "TEA-1", quantity: 2, reference: "DN-1") { stock { quantity } } }'
LOW_STOCK = "{ lowStock { sku } }"


@pytest.fixture
def tea(stocked_article):
    return stocked_article(5, sku="TEA-1", name="Green tea", stock__min_quantity=10)


def quantity_of(article) -> int:
    return Stock.objects.get(article=article).quantity


# --- authentication -------------------------------------------------------------------------------


@pytest.mark.parametrize("query", [LOW_STOCK, RESTOCK])
def test_an_anonymous_request_gets_401_and_no_data_and_writes_nothing(tea, query):
    response = GraphQLClient().post(query)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    body = response.json()
    assert "data" not in body
    assert error_codes(body) == ["not_authenticated"]
    assert quantity_of(tea) == 5


def test_an_unknown_token_gets_401_authentication_failed(tea):
    response = Client().post(
        URL, {"query": LOW_STOCK}, content_type="application/json", headers={"Authorization": "Token nope"}
    )
    assert response.status_code == 401
    assert error_codes(response.json()) == ["authentication_failed"]


def test_a_session_login_may_query_like_a_token(tea, clerk):
    client = Client()
    client.force_login(clerk)
    response = client.post(URL, {"query": LOW_STOCK}, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"data": {"lowStock": [{"sku": "TEA-1"}]}}


# --- CSRF -----------------------------------------------------------------------------------------


def test_a_token_request_needs_no_csrf_token(tea, supplier):
    token = Token.objects.create(user=supplier)
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        URL, {"query": RESTOCK}, content_type="application/json", headers={"Authorization": f"Token {token}"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["data"]["restock"]["stock"] == {"quantity": 7}


def test_a_session_mutation_without_the_csrf_token_is_refused_and_writes_nothing(tea, clerk):
    client = Client(enforce_csrf_checks=True)
    client.force_login(clerk)

    refused = client.post(URL, {"query": RESTOCK}, content_type="application/json")
    assert refused.status_code == 403
    assert error_codes(refused.json()) == ["permission_denied"]
    assert refused.json()["errors"][0]["message"].startswith("CSRF Failed")
    assert quantity_of(tea) == 5

    # The GraphiQL page sets the CSRF cookie; with its token in the header, the session may write.
    client.get(URL, headers={"Accept": "text/html"})
    accepted = client.post(
        URL,
        {"query": RESTOCK},
        content_type="application/json",
        headers={"X-CSRFToken": client.cookies["csrftoken"].value},
    )
    assert accepted.status_code == 200, accepted.content
    assert quantity_of(tea) == 7


# --- roles, field by field ------------------------------------------------------------------------

# One operation per root field; the test below fails when a root field is added without one here.
ROOT_FIELDS = {
    "articles": "{ articles { totalCount } }",
    "article": '{ article(sku: "TEA-1") { sku } }',
    "stock": '{ stock(sku: "TEA-1") { quantity } }',
    "lowStock": LOW_STOCK,
    "stockReport": "{ stockReport { totals { articles } } }",
    "stockMovements": "{ stockMovements { totalCount } }",
    "restock": RESTOCK,
    "restockMany": 'mutation { restockMany(items: [{sku: "TEA-1", quantity: 1}], reference: "DN-2") '
    "{ stocks { quantity } } }",
}
ALLOWED = {name: {Role.MANAGER, Role.CLERK, Role.SUPPLIER} for name in ROOT_FIELDS}


def roles_holding(perm: str) -> set[str]:
    return {role for role in Role if role_grants(role, perm.split(".", 1)[0], perm)}


def test_every_root_field_names_its_permission_and_none_lets_customers_in():
    guards = {
        to_camel_case(name): getattr(Query, f"resolve_{name}").required_permission
        for name in Query._meta.fields
    }
    guards |= {
        to_camel_case(name): field.resolver.required_permission
        for name, field in Mutation._meta.fields.items()
    }

    assert {name: roles_holding(perm) for name, perm in guards.items()} == ALLOWED
    assert not [name for name, perm in guards.items() if Role.CUSTOMER in roles_holding(perm)]


@pytest.mark.parametrize("role", [Role.MANAGER, Role.CLERK, Role.SUPPLIER, Role.CUSTOMER])
@pytest.mark.parametrize("field", ROOT_FIELDS)
def test_each_role_runs_exactly_its_root_fields(request, tea, role, field):
    client = GraphQLClient(request.getfixturevalue(role))
    movements = StockMovement.objects.count()

    response = client.post(ROOT_FIELDS[field])

    assert response.status_code == 200
    body = response.json()
    if role in ALLOWED[field]:
        assert "errors" not in body, body
        assert body["data"][field] is not None
    else:
        assert error_codes(body) == ["permission_denied"]
        assert body["errors"][0]["path"] == [field]
        assert not (body["data"] or {}).get(field)
        assert StockMovement.objects.count() == movements
        assert quantity_of(tea) == 5


# --- what the schema exposes ----------------------------------------------------------------------


def test_introspection_is_allowed_and_shows_no_customers_orders_or_users(supplier):
    schema = GraphQLClient(supplier).execute(get_introspection_query(descriptions=True))["__schema"]

    type_names = {t["name"] for t in schema["types"]}
    assert {"Article", "StockLevel", "StockMovement", "MutationError"} <= type_names
    forbidden = re.compile(r"order|user|customer|payment|token|password|email", re.IGNORECASE)
    assert not [name for name in type_names if forbidden.search(name)]
    field_names = {
        field["name"]
        for t in schema["types"]
        if not t["name"].startswith("__")
        for field in (t["fields"] or []) + (t["inputFields"] or [])
    }
    assert not [name for name in field_names if forbidden.search(name)]


# --- GraphiQL -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.MANAGER, Role.CLERK, Role.SUPPLIER])
def test_graphiql_is_served_to_logged_in_users_from_our_own_static_files(request, role):
    client = Client()
    client.force_login(request.getfixturevalue(role))

    response = client.get(URL, headers={"Accept": "text/html"})

    assert response.status_code == 200
    page = response.content.decode()
    # A CDN's address anywhere in the page (the page's random tokens may spell "cdn" by chance).
    assert not re.search(r"//[^\s\"'<>]*(cdn|jsdelivr|unpkg)", page, re.IGNORECASE)
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assets = re.findall(r"(?:src|href)=\"/static/([^\"]+)\"", page)
    assert set(assets) == {
        "graphiql/graphiql.min.css",
        "graphiql/react.production.min.js",
        "graphiql/react-dom.production.min.js",
        "graphiql/graphiql.min.js",
        "graphiql/boot.js",
    }
    assert all(finders.find(asset) for asset in assets)
    assert 'name="csrfmiddlewaretoken"' in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "opens_on"),
    [
        (Role.SUPPLIER, "mutation Deliver"),
        (Role.CLERK, "stockReport(isLow: true)"),
        (Role.MANAGER, "stockReport"),
    ],
)
def test_graphiql_opens_on_a_starter_query_that_runs_for_the_role(request, role, opens_on):
    client = Client()
    client.force_login(request.getfixturevalue(role))

    page = client.get(URL, headers={"Accept": "text/html"}).content.decode()

    starter = json.loads(
        re.search(r'<script id="graphiql-starter" type="application/json">(.*?)</script>', page)[1]
    )
    assert opens_on in starter
    first_operation = re.search(r"(query \w+ \{.*?\n\})", starter, re.DOTALL)[1]
    answer = client.post(URL, {"query": first_operation}, content_type="application/json").json()
    assert "errors" not in answer and answer["data"]


def test_an_anonymous_browser_is_sent_to_the_login_page():
    response = Client().get(URL, headers={"Accept": "text/html"})
    assert response.status_code == 302
    assert response["Location"] == "/api-auth/login/?next=/graphql/"


def test_a_customer_gets_no_graphiql_page(customer):
    client = Client()
    client.force_login(customer)
    assert client.get(URL, headers={"Accept": "text/html"}).status_code == 403


# --- limits ---------------------------------------------------------------------------------------


def nested(levels: int) -> str:
    """`article { stock { article { ... } } }`, `levels` fields deep."""
    wrappers = (["stock", "article"] * levels)[: levels - 2]
    inner = "quantity" if wrappers[-1] == "stock" else "sku"
    for name in reversed(wrappers):
        inner = f"{name} {{ {inner} }}"
    return f'{{ article(sku: "TEA-1") {{ {inner} }} }}'


def test_a_query_at_the_depth_limit_runs_and_a_deeper_one_is_refused(tea, supplier):
    client = GraphQLClient(supplier)
    assert client.execute(nested(MAX_QUERY_DEPTH))["article"]

    response = client.post(nested(MAX_QUERY_DEPTH + 1))
    assert response.status_code == 400
    assert error_codes(response.json()) == ["query_too_deep"]
    assert "data" not in response.json()


def test_the_depth_limit_follows_fragments(tea, supplier):
    query = (
        '{ article(sku: "TEA-1") { ...Level } } '
        "fragment Level on Article { stock { article { stock { article { stock { article { stock "
        "{ quantity } } } } } } } }"
    )
    response = GraphQLClient(supplier).post(query)
    assert response.status_code == 400
    assert error_codes(response.json()) == ["query_too_deep"]


def test_graphiqls_introspection_query_runs(supplier):
    response = GraphQLClient(supplier).post(get_introspection_query())

    assert response.status_code == 200, response.json().get("errors")
    assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"


def refused_with(response, code: str) -> None:
    assert response.status_code == 400
    assert error_codes(response.json()) == [code]
    assert "data" not in response.json()


@pytest.mark.parametrize(
    "document",
    [
        "{ " + "__typename " * 200_000 + "}",  # 2.2 MB: refused on its size, before it is read
        "{ " + "a " * (MAX_QUERY_TOKENS + 1) + "}",  # small, but too many tokens: parsing stops
        "{ a " * 3_000 + "}" * 3_000,  # nested deeper than a parser's stack
    ],
    ids=["huge", "too many tokens", "nested"],
)
def test_a_document_too_large_to_parse_is_refused_before_anything_runs(tea, supplier, document):
    refused_with(GraphQLClient(supplier).post(document), "query_too_large")


def test_too_many_aliases_are_refused_before_anything_runs(tea, supplier):
    aliased = " ".join(f"a{n}: articles(first: 1) {{ totalCount }}" for n in range(MAX_ALIASES + 1))

    with CaptureQueriesContext(connection) as queries:
        response = GraphQLClient(supplier).post(f"{{ {aliased} }}")

    refused_with(response, "query_too_costly")
    assert not [query for query in queries if "articles_article" in query["sql"]]  # not one page read


def test_pages_of_pages_too_costly_to_answer_are_refused(tea, supplier):
    page = "articles(first: 100) { edges { node { id sku name description price stock { quantity } } } }"
    aliased = " ".join(f"a{n}: {page}" for n in range(15))  # 15 aliases, about 12,000 fields

    refused_with(GraphQLClient(supplier).post(f"{{ {aliased} }}"), "query_too_costly")


def test_introspection_nested_past_the_depth_limit_is_too_costly(supplier):
    """graphene's depth limit leaves introspection alone; its cost is counted all the same."""
    nested = "{ __schema { types { " + "fields { type { " * 6 + "name" + " } }" * 6 + " } } }"

    response = GraphQLClient(supplier).post(nested)

    assert response.status_code == 400
    assert "query_too_costly" in error_codes(response.json())


# --- bad requests ---------------------------------------------------------------------------------

BAD_REQUESTS = {
    "syntax error": ({"query": "{ lowStock { sku "}, 400, "graphql_parse_failed"),
    "unknown field": ({"query": "{ lowStock { password } }"}, 400, "graphql_validation_failed"),
    "unknown fragment": ({"query": "{ ...Missing }"}, 400, "graphql_validation_failed"),
    "fragment cycle": (
        {"query": "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"},
        400,
        "graphql_validation_failed",
    ),
    "wrong variable type": (
        {"query": "query($n: Int) { articles(first: $n) { totalCount } }", "variables": {"n": "ten"}},
        400,
        "graphql_validation_failed",
    ),
    "variables not an object": (
        {"query": "query($n: Int) { articles(first: $n) { totalCount } }", "variables": [1]},
        400,
        "bad_request",
    ),
    "query not a string": ({"query": 42}, 400, "bad_request"),
    "no query": ({"variables": {}}, 400, "bad_request"),
    "nested too deeply to parse": ({"query": "{ a " * 5000 + "}" * 5000}, 400, "query_too_large"),
}


def test_a_body_of_json_nested_too_deeply_is_a_bad_request(supplier):
    client = GraphQLClient(supplier)
    body = "[" * 5_000 + "]" * 5_000

    response = client.client.post(URL, body, content_type="application/json", headers=client.headers)

    assert response.status_code == 400
    assert error_codes(response.json()) == ["bad_request"]


@pytest.mark.parametrize("name", BAD_REQUESTS)
def test_a_bad_request_gets_graphql_errors_with_a_code_and_never_a_500(tea, supplier, name):
    payload, status, code = BAD_REQUESTS[name]
    client = GraphQLClient(supplier)
    response = client.client.post(URL, payload, content_type="application/json", headers=client.headers)
    assert response.status_code == status, response.content
    assert error_codes(response.json()) == [code] * len(response.json()["errors"])


@pytest.mark.parametrize(
    ("body", "content_type"),
    [('{"query": ', "application/json"), ("[]", "application/json"), ("x" * 3_000_000, "application/json")],
    ids=["broken JSON", "JSON not an object", "body over Django's upload limit"],
)
def test_a_body_that_is_not_a_graphql_request_gets_400(supplier, body, content_type):
    client = GraphQLClient(supplier)
    response = client.client.post(URL, body, content_type=content_type, headers=client.headers)
    assert response.status_code == 400
    assert error_codes(response.json()) == ["bad_request"]


def test_a_mutation_sent_with_get_is_refused_and_writes_nothing(tea, supplier):
    client = GraphQLClient(supplier)
    response = client.client.get(URL, {"query": RESTOCK}, headers=client.headers)
    assert response.status_code == 405
    assert error_codes(response.json()) == ["method_not_allowed"]
    assert quantity_of(tea) == 5


def test_a_query_may_be_sent_with_get(tea, supplier):
    client = GraphQLClient(supplier)
    response = client.client.get(URL, {"query": LOW_STOCK}, headers=client.headers)
    assert response.status_code == 200
    assert json.loads(response.content) == {"data": {"lowStock": [{"sku": "TEA-1"}]}}


def test_a_failing_resolver_is_an_internal_error_that_does_not_leak_its_message(
    tea, supplier, monkeypatch, caplog
):
    def broken(**page):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(stock_selectors, "stock_low_list", broken)
    response = GraphQLClient(supplier).post(LOW_STOCK)

    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["message"] == "Internal error."
    assert error_codes(body) == ["internal_error"]
    assert "secret" not in response.content.decode()
    assert "secret detail" in caplog.text
