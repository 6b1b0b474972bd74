"""Helpers shared by the admin (door) tests of every app."""

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse


def admin_url(model, view: str = "changelist", *args) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def run_action(client: Client, model, action: str, objects, **data):
    """POST an admin action on `objects` from the changelist, as its form does."""
    selected = [str(obj.pk) for obj in objects]
    return client.post(admin_url(model), {"action": action, ACTION_CHECKBOX_NAME: selected, **data})


def assert_changelist_queries_flat(client: Client, model, add_rows, django_assert_num_queries) -> None:
    """The changelist costs as many queries with 50 rows as with 5: nothing is fetched row by row."""
    url = admin_url(model)
    add_rows(5)
    client.get(url)  # warm per-process caches (content types, sessions)
    with CaptureQueriesContext(connection) as few:
        response = client.get(url)
    assert response.status_code == 200
    shown = response.context["cl"].result_count
    add_rows(45)
    with django_assert_num_queries(len(few)):
        response = client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count == shown + 45
