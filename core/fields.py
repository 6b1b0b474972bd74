"""Serializer fields of both services' APIs: whole numbers taken as whole numbers only.

DRF's IntegerField takes `4.0` as 4 and `" 5 "` as 5, and a PrimaryKeyRelatedField hands `4.9` to
the database lookup, which makes it customer 4. An id or a count is a JSON integer, or, from a form
or a query string, a string of digits: anything else is refused (400, `invalid`).
"""

import re

from rest_framework import serializers

WHOLE_NUMBER = re.compile(r"-?[0-9]+")
MAX_ID = 2**63 - 1  # BigAutoField


def is_whole_number(data) -> bool:
    if isinstance(data, bool):
        return False
    return isinstance(data, int) or (isinstance(data, str) and WHOLE_NUMBER.fullmatch(data) is not None)


class WholeNumberField(serializers.IntegerField):
    def to_internal_value(self, data):
        if not is_whole_number(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class IdField(WholeNumberField):
    def __init__(self, **kwargs):
        super().__init__(**{"min_value": 1, "max_value": MAX_ID, **kwargs})


class IdRelatedField(serializers.PrimaryKeyRelatedField):
    """A related object by its id, the id a whole number."""

    def to_internal_value(self, data):
        if not is_whole_number(data):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)
