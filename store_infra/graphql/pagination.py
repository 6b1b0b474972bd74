"""Relay connections over querysets, by keyset: `first` items after the cursor `after`.

A cursor holds the primary key of the last item seen, so a page never repeats or skips an item when
rows are added meanwhile (the ledger grows at its newest end while a supplier pages through it).
Every page costs two queries whatever its size: the count and the page itself.
"""

import base64
import binascii

import graphene
from django.db.models import QuerySet
from graphene import relay

from .errors import invalid_argument

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
_CURSOR_PREFIX = "pk:"
_MAX_PK_DIGITS = 18


class CountedConnection(relay.Connection):
    class Meta:
        abstract = True

    total_count = graphene.Int(required=True, description="How many items match, whatever the page.")


def page_arguments() -> dict:
    """The `first` and `after` arguments of every connection field."""
    return {
        "first": graphene.Int(
            description=f"Page size, from 0 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE})."
        ),
        "after": graphene.String(description="`endCursor` of the previous page."),
    }


def _cursor(pk: int) -> str:
    return base64.b64encode(f"{_CURSOR_PREFIX}{pk}".encode()).decode()


def _pk_after(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    digits = text.removeprefix(_CURSOR_PREFIX)
    if not text.startswith(_CURSOR_PREFIX) or not digits.isdigit() or len(digits) > _MAX_PK_DIGITS:
        raise invalid_argument("after", "`after` is not a cursor of this connection.")
    return int(digits)


def paginate(
    connection_type: type[CountedConnection],
    queryset: QuerySet,
    *,
    first: int | None,
    after: str | None,
    newest_first: bool = False,
) -> CountedConnection:
    """One page of `queryset`, ordered by primary key (descending when `newest_first`)."""
    size = DEFAULT_PAGE_SIZE if first is None else first
    if not 0 <= size <= MAX_PAGE_SIZE:
        raise invalid_argument("first", f"`first` must be from 0 to {MAX_PAGE_SIZE}.")
    total = queryset.count()
    rows = queryset.order_by("-pk" if newest_first else "pk")
    if after is not None:
        pk = _pk_after(after)
        rows = rows.filter(pk__lt=pk) if newest_first else rows.filter(pk__gt=pk)
    page = list(rows[: size + 1])
    has_next_page = len(page) > size
    edges = [connection_type.Edge(node=row, cursor=_cursor(row.pk)) for row in page[:size]]
    return connection_type(
        edges=edges,
        page_info=relay.PageInfo(
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
            has_next_page=has_next_page,
            has_previous_page=after is not None,
        ),
        total_count=total,
    )
