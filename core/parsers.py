"""Request bodies as JSON, for both services' APIs: DRF's parser, refusing what it lets through.

Python's JSON decoder raises RecursionError, not ValueError, on a document nested deeper than the
interpreter's recursion limit (5,000 `[` then 5,000 `]`, say); DRF catches only the latter, so such a
body answered 500. JSON also allows a lone surrogate (`"\\udfff"`), which is no character: a field
that does not refuse it (a choice) echoes it in its error message, which cannot then be encoded as
UTF-8, and the answer was a 500 too. Both are malformed bodies like any other: 400 `parse_error`.
"""

import json

from rest_framework import parsers
from rest_framework.exceptions import ParseError

TOO_DEEP = "JSON parse error - the document is nested too deeply."
LONE_SURROGATE = (
    "JSON parse error - the document holds a lone surrogate (\\ud800 to \\udfff), which is no character."
)


def json_loads(text, **options):
    """`json.loads`, with a document nested too deeply refused as ValueError like any bad JSON."""
    try:
        return json.loads(text, **options)
    except RecursionError:
        raise ValueError(TOO_DEEP) from None


def holds_lone_surrogate(data) -> bool:
    """Whether a decoded JSON document holds a lone surrogate in any key or string (the decoder joins
    the pairs that make one character). Walked without recursion: the document may be deep."""
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if not value.isascii() and any("\ud800" <= character <= "\udfff" for character in value):
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if holds_lone_surrogate(data):
            raise ParseError(LONE_SURROGATE)
        return data


# For the actions a clerk may also submit from the browsable API's HTML form (multipart) without
# writing JSON: restock, adjust, order creation.
JSON_OR_FORM = [JSONParser, parsers.FormParser, parsers.MultiPartParser]
