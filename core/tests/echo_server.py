"""A backend that records what it receives and answers what the test says: for checking what KrakenD
forwards, limits and times out, route by route, without the cost of the real services."""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-case
    body: bytes


@dataclass
class Behaviour:
    status: int = 200
    delay: float = 0.0  # seconds before answering


@dataclass
class EchoServer:
    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    behaviour: Behaviour = field(default_factory=Behaviour)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def last(self) -> Received:
        return self.received[-1]


def start_echo_server() -> EchoServer:
    echo = EchoServer(ThreadingHTTPServer(("127.0.0.1", 0), _Handler))
    echo.server.echo = echo
    echo.server.daemon_threads = True
    threading.Thread(target=echo.server.serve_forever, daemon=True).start()
    return echo


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        echo: EchoServer = self.server.echo
        if self.headers.get("Transfer-Encoding") == "chunked":
            body = self._chunked_body()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        echo.received.append(
            Received(
                method=self.command,
                path=url.path,
                query=parse_qs(url.query, keep_blank_values=True),
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
            )
        )
        time.sleep(echo.behaviour.delay)
        answer = json.dumps({"echo": url.path}).encode()
        self.send_response(echo.behaviour.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def _chunked_body(self) -> bytes:
        body = b""
        while size := int(self.rfile.readline().split(b";")[0], 16):
            body += self.rfile.read(size)
            self.rfile.readline()
        self.rfile.readline()  # the empty line after the last chunk
        return body

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, *arguments) -> None:
        pass
