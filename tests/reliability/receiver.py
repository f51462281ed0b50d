"""An HTTP endpoint on 127.0.0.1 that records every request it gets and misbehaves on demand.

It runs in the test process (a threaded ``http.server``), so that a test sees what arrived
without asking another process. The path says how to answer:

- ``/ok``: 200 at once.
- ``/fail/<n>``: 500 the first ``n`` times a ``webhook-id`` arrives, then 200.
- ``/slow/<s>``: waits ``s`` seconds before answering 200.
- ``/drip/<s>``: sends the status line and headers at once, then a body of ``s`` bytes, one a
  second (a read timeout per socket operation never fires; only a total deadline stops it).
- ``/redirect``: 302 to the cloud metadata address.

``on_request(n, callback)`` calls ``callback(request)`` in the handler's thread when the
``n``-th request (counting from 1) has arrived and before it is answered: a test uses it to
kill the worker that is waiting for that answer.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

METADATA_URL = "http://169.254.169.254/latest/meta-data/"


@dataclass
class Received:
    """One request as it arrived."""

    number: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def id(self) -> str:
        return self.headers.get("webhook-id", "")


class Receiver:
    """The endpoint; ``url(path)`` for a trigger, ``requests`` for what came in."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._lock = threading.Condition()
        self._seen: Counter[tuple[str, str]] = Counter()
        self._callbacks: dict[int, Callable[[Received], None]] = {}
        self._cancel = threading.Event()
        self.errors: list[str] = []
        handler = type("Handler", (_Handler,), {"receiver": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="receiver",
                                       kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._cancel.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def reset(self) -> None:
        """Forget what arrived; end the slow answers of the test before."""
        self._cancel.set()
        with self._lock:
            self.requests = []
            self._seen.clear()
            self._callbacks.clear()
            self.errors = []
            self._cancel = threading.Event()

    def on_request(self, number: int, callback: Callable[[Received], None]) -> None:
        self._callbacks[number] = callback

    # What arrived ---------------------------------------------------------------------------

    def by_id(self) -> dict[str, list[Received]]:
        with self._lock:
            grouped: dict[str, list[Received]] = {}
            for request in self.requests:
                grouped.setdefault(request.id, []).append(request)
            return grouped

    def count(self, webhook_id: str | None = None) -> int:
        with self._lock:
            if webhook_id is None:
                return len(self.requests)
            return sum(1 for r in self.requests if r.id == webhook_id)

    def wait_for(self, predicate: Callable[[Receiver], bool], timeout: float,
                 what: str) -> None:
        """Wait until ``predicate(self)`` holds; AssertionError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{what}: not after {timeout} s "
                                         f"({len(self.requests)} request(s) received)")
                self._lock.wait(min(left, 0.2))

    # The handler's side ---------------------------------------------------------------------

    def _arrived(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[Received, int]:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            request = Received(len(self.requests) + 1, handler.command, handler.path, headers,
                               body)
            self.requests.append(request)
            key = (request.path, request.id)
            self._seen[key] += 1
            seen = self._seen[key]
            callback = self._callbacks.pop(request.number, None)
            self._lock.notify_all()
        if callback is not None:
            try:
                callback(request)
            except Exception as exc:  # reported by the test, not lost in a server thread
                self.errors.append(f"callback at request {request.number}: {exc!r}")
        return request, seen


class _Handler(BaseHTTPRequestHandler):
    receiver: Receiver
    protocol_version = "HTTP/1.1"  # keep-alive, as the webhook's connection pool expects
    # headers and body go out as two writes: without this, Nagle's algorithm holds the body
    # back until the client's delayed ACK (40 ms) on a reused connection
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request, seen = self.receiver._arrived(self, body)
        cancel = self.receiver._cancel
        parts = request.path.strip("/").split("/")
        try:
            if parts[0] == "fail" and seen <= int(parts[1]):
                self._answer(500, b"failing on purpose")
            elif parts[0] == "slow":
                cancel.wait(float(parts[1]))
                self._answer(200, b"slow")
            elif parts[0] == "drip":
                self._drip(int(parts[1]), cancel)
            elif parts[0] == "redirect":
                self._answer(302, b"", {"Location": METADATA_URL})
            else:
                self._answer(200, b"ok")
        except OSError:  # the client gave up (timeout, or its process was killed)
            self.close_connection = True

    do_PUT = do_PATCH = do_POST

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _drip(self, seconds: int, cancel: threading.Event) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(seconds))
        self.end_headers()
        self.wfile.flush()
        for _ in range(seconds):
            if cancel.wait(1.0):
                break
            self.wfile.write(b".")
            self.wfile.flush()
        self.close_connection = True
