"""What the services' configured log handler writes, read back as JSON lines (both test suites)."""

import io
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from core.logging import JsonFormatter


@contextmanager
def json_log_lines() -> Iterator[Callable[[], list[dict]]]:
    """Redirects the root logger's JSON handler (settings.LOGGING) to memory while the block runs;
    yields a function returning the lines written so far, decoded."""
    handler = next(h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter))
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        handler.setStream(previous)
