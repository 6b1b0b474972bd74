"""Request bodies as JSON, for both services' APIs: DRF's parser, refusing too deep a nesting too.

Python's JSON decoder raises RecursionError, not ValueError, on a document nested deeper than the
interpreter's recursion limit (5,000 `[` then 5,000 `]`, say); DRF catches only the latter, so such a
body answered 500. It is a malformed body like any other: 400 `parse_error`.
"""

import json

from rest_framework import parsers
from rest_framework.exceptions import ParseError

TOO_DEEP = "JSON parse error - the document is nested too deeply."


def json_loads(text, **options):
    """`json.loads`, with a document nested too deeply refused as ValueError like any bad JSON."""
    try:
        return json.loads(text, **options)
    except RecursionError:
        raise ValueError(TOO_DEEP) from None


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
