"""What the fuzz and property tests share: reproducible, bounded runs, and the in-process schema.

`make test` must give the same verdict on every run and stay within its time budget, so every
generated test runs a fixed number of examples from a fixed seed, never waits on a deadline (a first
request warms caches and is slower), and keeps no example database in the tree.

The OpenAPI fuzz tests load the schema drf-spectacular generates for the settings in use (the store's
or the payments service's, as served at `/api/v1/schema/`) and send Schemathesis' requests through
the whole Django stack in-process, as WSGI calls inside the test's database transaction.
"""

import contextlib
import json

import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

SEED = 20_26

# Text as attackers write it: any character, NUL and lone surrogates (which no column can hold) included.
HOSTILE_TEXT = st.text(
    st.one_of(st.characters(), st.sampled_from(["\x00", "\ud800", "\udfff", "\u202e", "\ufeff"])),
    max_size=40,
)

# No 5xx, and every answer as documented: its status, content type, headers and body.
RESPONSE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def fuzz_settings(max_examples: int, **overrides) -> settings:
    """Settings for a generated test that runs at most `max_examples` examples."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        # The examples of a test share its fixtures on purpose (the store they fuzz), and generated
        # requests are large and sometimes slow by nature.
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
        **overrides,
    )


def openapi_schema(*, phases: list[str]):
    """The schema `/api/v1/schema/` serves under the current settings, for Schemathesis.

    `phases`: among "examples", "coverage" (edge and invalid values of every parameter and field,
    deterministic) and "fuzzing" (random valid and invalid requests, `max_examples` of them).
    """
    generated = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(generated)))
    schema.config.phases.update(phases=phases)
    schema.config.seed = SEED
    return schema


@contextlib.contextmanager
def in_process_app():
    """The Django application, to be called in-process inside the test's transaction.

    Django closes the database connection when a request starts or finishes; in a test that would
    end the transaction the test rolls back, so the signals are held off as Django's test client does.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
