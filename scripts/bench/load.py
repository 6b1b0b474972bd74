"""The load generator: clients looping over their requests on keep-alive HTTP/1.1 connections.

Each client is a thread with one keep-alive connection, and the clients are spread over a few
worker processes (16 clients: 4 processes x 4 threads) so that the GIL of one process is never what
limits them. The client CPU is measured and reported beside the figures, so a reader can check that
the clients were not the bottleneck.

Every client starts at the same instant and sends its cycle of requests over and over. Requests
are timed on the monotonic clock (one clock for every process on Linux); those started during the
warm-up, or untimed ones (a write that sets the scene for the read that follows), are not recorded.
Requests with a label (a scenario mixing reads and writes) are recorded apart, each label in a row
of its own.
"""

import dataclasses
import math
import multiprocessing
import signal
import socket
import threading
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing import Pool
from typing import NamedTuple

HOST = "127.0.0.1"
# Status recorded for a request that got no answer (refused, reset, timed out).
NO_ANSWER = 0
# Status recorded for a 2xx answer whose body carries its request's error marker (a GraphQL error).
ERRORS_IN_BODY = 1
# How long after the end the client processes may take to report (a request times out after 30 s).
LOST_CLIENTS_SECONDS = 60


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    timed: bool = True
    # Recorded apart under this label (its own latencies, sizes and statuses), if any.
    label: str = ""
    # A 2xx answer whose body contains this is an error (GraphQL answers errors with a 200).
    error_marker: bytes = b""


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    # Client i loops over cycles[i % len(cycles)].
    cycles: tuple[tuple[Request, ...], ...]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        """The labels of its requests, in the order they are first sent."""
        return list(dict.fromkeys(r.label for cycle in self.cycles for r in cycle if r.label))


class Window(NamedTuple):
    """Monotonic instants: the clients start, recording starts (after the warm-up), everything stops."""

    start: float
    record_from: float
    end: float


@dataclass
class Sample:
    """What clients recorded: latencies and body sizes of timed requests, statuses of all requests."""

    latencies: array = field(default_factory=lambda: array("d"))
    statuses: Counter = field(default_factory=Counter)
    body_bytes: int = 0
    etags: Counter = field(default_factory=Counter)
    cpu_seconds: float = 0.0
    # What the labelled requests recorded, by label.
    apart: dict[str, "Sample"] = field(default_factory=dict)

    def add(self, other: "Sample") -> None:
        self.latencies.extend(other.latencies)
        self.statuses.update(other.statuses)
        self.body_bytes += other.body_bytes
        self.etags.update(other.etags)
        self.cpu_seconds += other.cpu_seconds
        for label, sample in other.apart.items():
            self.apart.setdefault(label, Sample()).add(sample)


@dataclass
class Result:
    scenario: Scenario
    seconds: float
    sample: Sample
    # CPU used during the recorded window, in cores (2.0 is all of a 2-core machine); None in the
    # rows of a scenario's labelled requests but its first: the CPU is the whole scenario's.
    server_cores: float | None
    client_cores: float | None
    latencies: list[float] = field(init=False)

    def __post_init__(self):
        self.latencies = sorted(self.sample.latencies)

    def rows(self) -> list["Result"]:
        """The rows of the table: the unlabelled requests (if any), then each label's, in the order
        they are sent; the first row carries the scenario's CPU figures."""
        rows = []
        if self.sample.latencies or self.sample.statuses or not self.scenario.labels:
            rows.append(dataclasses.replace(self, sample=dataclasses.replace(self.sample, apart={})))
        for label in self.scenario.labels:
            scenario = dataclasses.replace(
                self.scenario, key=f"{self.scenario.key}:{label}", title=f"{self.scenario.title}: {label}"
            )
            cores = (self.server_cores, self.client_cores) if not rows else (None, None)
            rows.append(Result(scenario, self.seconds, self.sample.apart.get(label, Sample()), *cores))
        return rows

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile_ms(self, percent: float) -> float:
        """Nearest-rank percentile."""
        if not self.latencies:
            return float("nan")
        rank = max(1, math.ceil(len(self.latencies) * percent / 100))
        return self.latencies[rank - 1] * 1000

    @property
    def errors(self) -> int:
        """Requests of the window (untimed ones too) answered other than 2xx or 304, or not at all, or
        with an error in the body (GraphQL)."""
        return sum(
            n for status, n in self.sample.statuses.items() if not (200 <= status < 300 or status == 304)
        )

    @property
    def body_errors(self) -> int:
        """2xx answers that carried an error in their body (GraphQL errors); counted in `errors` too."""
        return self.sample.statuses[ERRORS_IN_BODY]

    @property
    def failures(self) -> int:
        """5xx answers and requests that got no answer: the server failed."""
        return sum(n for status, n in self.sample.statuses.items() if status >= 500 or status == NO_ANSWER)

    @property
    def mean_bytes(self) -> float:
        return self.sample.body_bytes / self.requests if self.requests else 0.0

    @property
    def cache_hits(self) -> int:
        """Timed answers whose ETag another timed answer already had: the same cached body again."""
        return sum(n - 1 for n in self.sample.etags.values())


class _Connection:
    """One keep-alive HTTP/1.1 connection, reading each body by its Content-Length.

    About 6x cheaper per request than `http.client` (20 against 125 microseconds of CPU, measured on
    the benchmark machine), which matters when the clients share 2 cores with the server. Every
    response of the store has a Content-Length (Django's CommonMiddleware sets it).
    """

    def __init__(self, port: int):
        self.port = port
        self._socket = self._file = None

    def send(self, request: bytes) -> tuple[int, bytes, bytes | None]:
        """Status, body and ETag of the answer to `request` (raises OSError or ValueError without one)."""
        if self._socket is None:
            self._socket = socket.create_connection((HOST, self.port), timeout=30)
            self._file = self._socket.makefile("rb")
        self._socket.sendall(request)
        status_line = self._file.readline()
        if not status_line:
            raise ConnectionResetError("the server closed the connection")
        headers = {}
        while (line := self._file.readline()).strip():
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        body = self._file.read(int(headers.get(b"content-length", 0)))
        if headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return int(status_line.split()[1]), body, headers.get(b"etag")

    def close(self) -> None:
        if self._socket is not None:
            self._file.close()
            self._socket.close()
            self._socket = self._file = None


def _encode(request: Request, headers: dict[str, str], port: int) -> bytes:
    body = request.body or b""
    lines = [f"{request.method} {request.path} HTTP/1.1", f"Host: {HOST}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _client(port: int, cycle, headers: dict[str, str], window: Window, sample: Sample) -> None:
    connection = _Connection(port)
    cycle = [
        (
            request,
            _encode(request, headers, port),
            sample.apart.setdefault(request.label, Sample()) if request.label else sample,
        )
        for request in cycle
    ]
    time.sleep(max(0.0, window.start - time.monotonic()))
    while True:
        for request, encoded, recorded in cycle:
            began = time.monotonic()
            if began >= window.end:
                connection.close()
                return
            try:
                status, body, etag = connection.send(encoded)
            except (OSError, ValueError):
                connection.close()
                status, body, etag = NO_ANSWER, b"", None
                time.sleep(0.01)  # a server that is down is not hammered
            if began < window.record_from:
                continue
            finished = time.monotonic()
            if request.error_marker and 200 <= status < 300 and request.error_marker in body:
                status = ERRORS_IN_BODY
            recorded.statuses[status] += 1
            if request.timed:
                recorded.latencies.append(finished - began)
                recorded.body_bytes += len(body)
                if etag:
                    recorded.etags[etag] += 1


def _run_clients(scenario: Scenario, port: int, clients: range, window: Window) -> Sample:
    cpu_started = time.process_time()
    samples = [Sample() for _ in clients]
    threads = [
        threading.Thread(
            target=_client,
            args=(port, scenario.cycles[i % len(scenario.cycles)], scenario.headers, window, s),
        )
        for i, s in zip(clients, samples, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = Sample()
    for sample in samples:
        total.add(sample)
    total.cpu_seconds = time.process_time() - cpu_started
    return total


def _client_process() -> None:
    # Ctrl-C is the parent's to handle: it terminates the pool. SIGTERM (how the pool terminates its
    # processes) must kill outright: the parent's handler, inherited through fork, raises SystemExit
    # wherever the process is, even holding the pool's task queue lock, and the process left waiting
    # for that lock then never exits, nor the pool's terminate().
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@dataclass(frozen=True)
class LoadGenerator:
    clients: int
    processes: int
    warmup: float
    seconds: float

    def run(self, scenario: Scenario, server) -> Result:
        """Drive `server` (its `port`, its `cpu_seconds()`) with the clients for warm-up + seconds.

        However this ends, the client processes are gone when it returns or raises.
        """
        processes = min(self.processes, self.clients)
        with Pool(processes, initializer=_client_process) as pool:
            start = time.monotonic() + 0.5  # time for every process to start and receive its task
            window = Window(start, start + self.warmup, start + self.warmup + self.seconds)
            pending = [
                pool.apply_async(
                    _run_clients, (scenario, server.port, range(p, self.clients, processes), window)
                )
                for p in range(processes)
            ]
            time.sleep(max(0.0, window.record_from - time.monotonic()))
            server_cpu = server.cpu_seconds()
            total = Sample()
            for result in pending:
                # A pool never answers for a process that died: give up once every client's last
                # request has had its socket timeout, rather than wait forever.
                timeout = window.end + LOST_CLIENTS_SECONDS - time.monotonic()
                try:
                    total.add(result.get(max(0.0, timeout)))
                except multiprocessing.TimeoutError:
                    raise RuntimeError(
                        f"{scenario.title}: client processes gave no result {LOST_CLIENTS_SECONDS} s "
                        "after the end (did one die?)"
                    ) from None
            # Let the processes leave on their own; the block's end terminates them on an error.
            pool.close()
            pool.join()
        server_cores = (server.cpu_seconds() - server_cpu) / (time.monotonic() - window.record_from)
        client_cores = total.cpu_seconds / (time.monotonic() - window.start)  # the warm-up too
        return Result(scenario, self.seconds, total, server_cores, client_cores)
