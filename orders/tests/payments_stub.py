"""Stand-ins for a payments service that fails: real HTTP servers on 127.0.0.1, in threads.

They only play the failure modes (slow, 5xx, refused connections) and the bare answers the client
tests need; the payment flow itself runs against the real payments service (test_payment_flow.py).
"""

import json
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    body: bytes


@dataclass
class Behaviour:
    """What the stub answers; tests change it while the server runs."""

    status: int = 200
    body: object = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None  # sent as is instead of `body` as JSON


class StubServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler still sleeping must not hold up the test's teardown

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = Behaviour()
        self.received: list[Received] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def record(self, request: Received) -> None:
        with self._lock:
            self.received.append(request)


class _Handler(BaseHTTPRequestHandler):
    server: StubServer

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.record(Received(self.command, self.path, dict(self.headers), body))
        behaviour = self.server.behaviour
        if behaviour.delay:
            time.sleep(behaviour.delay)
        payload = behaviour.raw if behaviour.raw is not None else json.dumps(behaviour.body).encode()
        try:
            self.send_response(behaviour.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the client gave up waiting (its read timeout): nothing to answer

    do_GET = do_POST = _answer

    def log_message(self, format, *args):
        pass


@contextmanager
def stub_server():
    server = StubServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def refused_url():
    """A URL whose port refuses connections: bound by us, never listening."""
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{reserved.getsockname()[1]}"


def payment_json(*, id=41, order_id=7, status="pending", amount="12.34", currency="CAD") -> dict:
    """A payment as the contract shapes it (docs/adr/0005-payments-service.md)."""
    return {
        "id": id,
        "order_id": order_id,
        "customer_id": 3,
        "amount": amount,
        "currency": currency,
        "status": status,
        "pay_url": f"http://127.0.0.1:8001/api/v1/payments/{id}/pay/secret-of-{id}/",
        "card_brand": "",
        "card_last4": "",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
