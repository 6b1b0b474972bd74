"""Threads for race tests: each with its own database connection, closed when done, and an outcome
that keeps whatever the thread returned or raised (a thread never dies silently)."""

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection

START_TIMEOUT = 20  # seconds for every thread to open its connection and reach the start line
FINISH_TIMEOUT = 60  # seconds for all of them to finish; a hang fails the test instead of blocking it


@dataclass
class Outcome:
    label: str
    result: Any = None
    error: BaseException | None = None


def _work(outcome: Outcome, task: Callable[[], Any], start_line: threading.Barrier | None = None) -> None:
    try:
        connection.ensure_connection()
        if start_line is not None:
            start_line.wait()
        outcome.result = task()
    except BaseException as error:
        outcome.error = error
    finally:
        connection.close()


def start_thread(outcome: Outcome, task: Callable[[], Any], start_line=None) -> threading.Thread:
    thread = threading.Thread(target=_work, args=(outcome, task, start_line), name=outcome.label, daemon=True)
    thread.start()
    return thread


def wait_for(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(FINISH_TIMEOUT)
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"threads still running after {FINISH_TIMEOUT}s: {stuck}"


def run_together(tasks: list[tuple[str, Callable[[], Any]]]) -> list[Outcome]:
    """Run every `(label, task)` in its own thread, all released at once; one outcome per task.

    Each thread opens its own connection before the start line (so connecting does not stagger
    the start) and closes it when done. Whatever a task raises is kept, never lost with the thread.
    """
    start_line = threading.Barrier(len(tasks), timeout=START_TIMEOUT)
    outcomes = [Outcome(label) for label, _ in tasks]
    wait_for(
        [start_thread(outcome, task, start_line) for outcome, (_, task) in zip(outcomes, tasks, strict=True)]
    )
    return outcomes


def assert_only(outcomes: list[Outcome], *expected: type[BaseException]) -> None:
    unexpected = [
        (outcome.label, repr(outcome.error))
        for outcome in outcomes
        if outcome.error is not None and not isinstance(outcome.error, expected)
    ]
    assert not unexpected, unexpected


def tally(outcomes: list[Outcome]) -> Counter:
    return Counter("ok" if outcome.error is None else type(outcome.error).__name__ for outcome in outcomes)


def connection_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        return cursor.fetchone()[0]


def wait_until_blocked(connection_ids: dict[str, int], label: str, statement: str) -> None:
    """Wait until the connection of `label` is inside a statement starting with `statement`.

    Called for statements that must wait for a row lock, so being inside one means being blocked.
    """
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if label in connection_ids:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT info FROM information_schema.processlist WHERE id = %s AND command = 'Query'",
                    [connection_ids[label]],
                )
                row = cursor.fetchone()
            if row and (row[0] or "").startswith(statement):
                return
        assert time.monotonic() < deadline, f"{label} never blocked in {statement}"
        time.sleep(0.01)
