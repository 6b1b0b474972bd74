"""Log lines of both services: JSON objects in production, plain text in development.

Every line carries the id of the request it belongs to (`core.request_id`), `-` outside requests.
The format is `LOG_FORMAT` (`json` or `plain`), JSON by default unless DEBUG is on: a log shipper
reads JSON without guessing, a developer reads plain text at a glance (`make run` turns DEBUG on).

A JSON line holds `time` (UTC, ISO 8601), `level`, `logger`, `message`, `request_id`, the record's
extra fields (`status_code` of Django's request warnings, ...) and `exc_info` when there is a
traceback.
"""

import logging
import os
import re

from django.core.exceptions import ImproperlyConfigured
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

from .request_id import current_request_id

FORMATS = ("json", "plain")
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record a handler writes, whichever logger it comes from (a record
    that names its request itself, as the access log's do, keeps it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(record, "request_id", None) or current_request_id() or "-"
        return True


SECRET_IN_PATH = re.compile(r"(/pay/)[^/\s?#]+")


def without_secrets(text: str) -> str:
    """`text` with the secret of any pay_url path in it (`.../pay/<secret>/`) masked."""
    return SECRET_IN_PATH.sub(r"\1[redacted]", text) if "/pay/" in text else text


class SecretPathFilter(logging.Filter):
    """Masks the secret of a pay_url path in every line: whoever reads the logs must not be able to
    pay with, or look at, someone's payment."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed log call: logging reports it, not this filter
            return True
        if "/pay/" in message:
            record.msg, record.args = without_secrets(message), None
        return True


class JsonFormatter(BaseJsonFormatter):
    def __init__(self):
        super().__init__(
            ["levelname", "name", "message", "request_id"],
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
            # Django attaches the request object to its request warnings: its repr says nothing
            # the message does not.
            reserved_attrs=[*RESERVED_ATTRS, "request"],
        )

    def process_log_record(self, log_data: dict) -> dict:
        return {"time": log_data.pop("time"), **log_data}


def log_format(*, debug: bool) -> str:
    """LOG_FORMAT from the environment; JSON unless DEBUG is on."""
    chosen = os.environ.get("LOG_FORMAT") or ("plain" if debug else "json")
    if chosen not in FORMATS:
        raise ImproperlyConfigured(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {chosen!r}.")
    return chosen


def logging_config(*, log_format: str, level: str) -> dict:
    """Django's LOGGING: everything to stderr through one handler, in `log_format`."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}, "plain": {"format": PLAIN_FORMAT}},
        "filters": {"request_id": {"()": RequestIdFilter}, "secret_paths": {"()": SecretPathFilter}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request_id", "secret_paths"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        # Django's own handler for its loggers (DEBUG only) writes unfiltered lines, pay_url secrets
        # included: its records go to the root's handler like every other.
        "loggers": {"django": {"handlers": [], "propagate": True}},
    }
