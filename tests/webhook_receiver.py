"""A webhook receiver on loopback: answers each request with the next status of its script
(then 200), and keeps every request's headers and raw body for the test to verify. A script
status of HANG never answers (until the receiver closes)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WAIT_S = 120
HANG = 0


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    script: list[tuple[int, dict[str, str]]]
    requests: list[Received] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    closed: threading.Event = field(default_factory=threading.Event)

    def answer(self, request: Received) -> tuple[int, dict[str, str]]:
        with self.changed:
            self.requests.append(request)
            self.changed.notify_all()
            index = len(self.requests) - 1
        return self.script[index] if index < len(self.script) else (200, {})

    def wait_for(self, count: int) -> list[Received]:
        """The first `count` requests, once they have arrived."""
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.requests) >= count, timeout=WAIT_S):
                raise AssertionError(f"{len(self.requests)} webhook requests, not {count}")
            return self.requests[:count]


@contextmanager
def receiver(*script: int | tuple[int, dict[str, str]]) -> Iterator[Receiver]:
    steps = [s if isinstance(s, tuple) else (s, {}) for s in script]
    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            code, headers = holder[0].answer(Received(dict(self.headers.items()), body))
            if code == HANG:
                holder[0].closed.wait()
                return
            self.send_response(code)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(Receiver(f"http://127.0.0.1:{server.server_port}/hook", steps))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        holder[0].closed.set()
        server.shutdown()
        server.server_close()
