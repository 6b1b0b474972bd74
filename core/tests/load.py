"""Client threads that drive a live server while a test breaks things, recording every answer.

A fault test starts the clients (`Load.running`), moves through phases (`Load.phase`: "redis up",
"redis killed", ...) while it kills, pauses or restarts servers, and afterwards asserts on what the
clients saw: every status and latency, per phase and per kind of request, and every wrong answer a
client's own checks found (`problems`). A request without an answer (refused, reset, timed out)
has status 0: to a client it is as bad as a 5xx.
"""

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests

REQUEST_TIMEOUT = 15.0  # seconds: far beyond any bound the tests assert, so a hang shows as status 0
JOIN_TIMEOUT = 30.0  # seconds for the clients to finish their last request once stopped
POLL_INTERVAL = 0.05


@dataclass(frozen=True)
class Sample:
    name: str  # what was asked, e.g. "order", "report"
    phase: str
    started: float  # seconds since the load started
    seconds: float
    status: int  # 0: no answer
    body: Any  # the decoded JSON, or the text when it is not JSON
    headers: dict[str, str]


class Client:
    """One client thread's keep-alive session; every request it makes is recorded by its load."""

    def __init__(self, load: "Load"):
        self.load = load
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers.update(load.headers)

    def request(self, method: str, path: str, *, name: str, json=None, headers=None) -> Sample:
        phase, started = self.load.current_phase, time.monotonic()
        try:
            response = self.session.request(
                method, self.load.url + path, json=json, headers=headers, timeout=REQUEST_TIMEOUT
            )
        except requests.RequestException as error:
            status, body, answer_headers = 0, repr(error), {}
        else:
            status, answer_headers = response.status_code, dict(response.headers)
            try:
                body = response.json()
            except ValueError:
                body = response.text
        sample = Sample(
            name=name,
            phase=phase,
            started=started - self.load.started,
            seconds=time.monotonic() - started,
            status=status,
            body=body,
            headers=answer_headers,
        )
        self.load.record(sample)
        return sample

    def get(self, path: str, *, name: str, headers=None) -> Sample:
        return self.request("GET", path, name=name, headers=headers)

    def post(self, path: str, body=None, *, name: str, headers=None) -> Sample:
        return self.request("POST", path, name=name, json=body, headers=headers)


Task = Callable[[Client], None]


class Load:
    """Runs each task in a loop on its own thread against `url` until stopped.

    A task makes one or a few requests and checks what it got with `assert`; a failed check is
    kept in `problems` (with the phase it happened in) and the task goes on.
    """

    def __init__(self, url: str, *, headers: dict[str, str] | None = None):
        self.url = url.rstrip("/")
        self.headers = headers or {}
        self.samples: list[Sample] = []
        self.problems: list[str] = []
        self.current_phase = "start"
        self.phases: dict[str, float] = {}
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def record(self, sample: Sample) -> None:
        with self._lock:
            self.samples.append(sample)

    def phase(self, name: str) -> None:
        """From now on, requests are counted in `name`."""
        self.current_phase = name
        self.phases[name] = time.monotonic() - self.started

    def keep_going(self, seconds: float) -> None:
        """Let the clients run for `seconds` (the load itself is what the test waits for)."""
        self._stopping.wait(seconds)

    def _loop(self, task: Task) -> None:
        client = Client(self)
        while not self._stopping.is_set():
            try:
                task(client)
            except Exception as error:
                with self._lock:
                    self.problems.append(f"[{self.current_phase}] {type(error).__name__}: {error}")
                self._stopping.wait(POLL_INTERVAL)  # a broken server must not be hammered in a tight loop
        client.session.close()

    @contextmanager
    def running(self, *tasks: Task) -> Iterator["Load"]:
        threads = [threading.Thread(target=self._loop, args=(task,), daemon=True) for task in tasks]
        self.started = time.monotonic()
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self._stopping.set()
            for thread in threads:
                thread.join(JOIN_TIMEOUT)
            stuck = sum(thread.is_alive() for thread in threads)
            assert not stuck, f"{stuck} client(s) still waiting {JOIN_TIMEOUT} s after the load stopped"

    # --- what the clients saw -------------------------------------------------------------------

    def select(self, *, phase: str | None = None, name: str | None = None) -> list[Sample]:
        return [
            sample
            for sample in self.samples
            if (phase is None or sample.phase == phase) and (name is None or sample.name == name)
        ]

    def statuses(self, **where) -> Counter:
        return Counter(sample.status for sample in self.select(**where))

    def failures(self, **where) -> list[Sample]:
        """5xx answers and requests that got no answer."""
        return [sample for sample in self.select(**where) if sample.status >= 500 or sample.status == 0]

    def summary(self) -> str:
        """One line per phase and kind of request: count, statuses, p50/p95/max latency."""
        lines = []
        for phase in self.phases:
            for name in sorted({sample.name for sample in self.select(phase=phase)}):
                samples = self.select(phase=phase, name=name)
                milliseconds = [sample.seconds * 1000 for sample in samples]
                statuses = dict(sorted(Counter(sample.status for sample in samples).items()))
                lines.append(
                    f"{phase:>22} {name:>10}: {len(samples):4d} requests {statuses} "
                    f"p50 {percentile(milliseconds, 50):5.0f} ms  p95 {percentile(milliseconds, 95):5.0f} ms"
                    f"  max {max(milliseconds):5.0f} ms"
                )
        return "\n".join(lines)


def percentile(values: list[float], rank: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)]


def wait_until(condition: Callable[[], Any], *, timeout: float, what: str) -> float:
    """Poll `condition` until it is true; the seconds it took, or the test fails after `timeout`."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"{what}: not within {timeout} s"
        time.sleep(POLL_INTERVAL)
    return time.monotonic() - started
