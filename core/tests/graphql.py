"""Helpers of the GraphQL door tests: requests to /graphql/ as a user, by token or session."""

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

URL = "/graphql/"


class GraphQLClient:
    """Posts GraphQL requests with the user's API token (`Authorization: Token <key>`); anonymous
    for None."""

    def __init__(self, user=None):
        self.client = Client()
        self.headers = {}
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            self.headers["Authorization"] = f"Token {token.key}"

    def post(self, query: str, variables: dict | None = None, **body):
        payload = {"query": query, **body}
        if variables is not None:
            payload["variables"] = variables
        return self.client.post(URL, payload, content_type="application/json", headers=self.headers)

    def post_raw(self, body: str):
        """Posts `body` as it is, as JSON."""
        return self.client.post(URL, body, content_type="application/json", headers=self.headers)

    def execute(self, query: str, variables: dict | None = None) -> dict:
        """The `data` of a request that must succeed without any GraphQL error."""
        response = self.post(query, variables)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        return body["data"]

    def count_queries(self, query: str, variables: dict | None = None) -> tuple[int, dict]:
        """The SQL queries one successful request costs, and its data.

        The token's user is looked up first: it is cached after a client's first request, so the
        count is what the query itself costs.
        """
        self.execute("{ __typename }")
        with CaptureQueriesContext(connection) as queries:
            data = self.execute(query, variables)
        return len(queries), data


def error_codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body["errors"]]
