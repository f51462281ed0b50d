"""Connections that go only where webhooks may go, within a total deadline.

``session()`` opens connections through ``GuardedAdapter``: the host is resolved once, every
answer is checked (``triggers.egress.addresses``), and the socket connects to a checked
address, so a DNS answer that changes between the check and the connection cannot slip
through; TLS still verifies the certificate for the host name (SNI and ``Host`` are the
name's). Inside ``deadline(seconds)`` every socket operation of those connections (connect, TLS
handshake, send, each read) waits at most until the deadline, so a server that drips its answer
is cut off on time.
"""

from __future__ import annotations

import contextlib
import contextvars
import http.cookiejar
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.ssl_ import create_urllib3_context

from ..conf import settings
from ..exceptions import EgressRefused
from ..version import __version__
from .addresses import checked_addresses

try:
    from urllib3.exceptions import NameResolutionError
except ImportError:  # urllib3 1.26
    NameResolutionError = None  # type: ignore[assignment,misc]


# A total deadline ------------------------------------------------------------------------

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "triggers_egress_deadline", default=None)


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Within this block, guarded connections give up ``seconds`` from now: every connect,
    handshake, send and read waits at most until then, then raises ``TimeoutError``."""
    token = _DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _arm(sock: socket.socket) -> None:
    end = _DEADLINE.get()
    if end is None:
        return
    left = end - time.monotonic()
    if left <= 0:
        raise TimeoutError("the deadline passed")
    sock.settimeout(left)


class _DeadlineSocket(socket.socket):
    """A socket whose every send and receive waits at most until the current deadline."""

    def recv(self, *args: Any) -> bytes:
        _arm(self)
        return super().recv(*args)

    def recv_into(self, *args: Any) -> int:
        _arm(self)
        return super().recv_into(*args)

    def send(self, *args: Any) -> int:
        _arm(self)
        return super().send(*args)

    def sendall(self, *args: Any) -> None:
        _arm(self)
        return super().sendall(*args)


class _DeadlineSSLSocket(ssl.SSLSocket):
    """The TLS side of ``_DeadlineSocket`` (the handshake included)."""

    def do_handshake(self, *args: Any, **kwargs: Any) -> None:
        _arm(self)
        return super().do_handshake(*args, **kwargs)

    def recv(self, *args: Any, **kwargs: Any) -> bytes:
        _arm(self)
        return super().recv(*args, **kwargs)

    def recv_into(self, *args: Any, **kwargs: Any) -> int:
        _arm(self)
        return super().recv_into(*args, **kwargs)

    def send(self, *args: Any, **kwargs: Any) -> int:
        _arm(self)
        return super().send(*args, **kwargs)

    def sendall(self, *args: Any, **kwargs: Any) -> None:
        _arm(self)
        return super().sendall(*args, **kwargs)


# Connections that check what they connect to -------------------------------------------


def _open(conn: Any) -> socket.socket:
    """Resolve the connection's host once, check every answer, connect to a checked one."""
    host, port = conn.host, conn.port
    try:
        answers = checked_addresses(host, port)
    except socket.gaierror as exc:
        if NameResolutionError is not None:
            raise NameResolutionError(host, conn, exc) from exc
        raise NewConnectionError(conn, f"Failed to resolve {host!r} ({exc})") from exc
    timeout = conn.timeout if isinstance(conn.timeout, (int, float)) else None
    error: OSError | None = None
    for family, kind, proto, _name, sockaddr in answers:
        sock = _DeadlineSocket(family, kind, proto)
        try:
            for option in conn.socket_options or ():
                sock.setsockopt(*option)
            end = _DEADLINE.get()
            if end is not None:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError("the deadline passed")
                timeout = left if timeout is None else min(timeout, left)
            if timeout is not None:
                sock.settimeout(timeout)
            if conn.source_address:
                sock.bind(conn.source_address)
            sock.connect(sockaddr)
        except TimeoutError as exc:
            sock.close()
            raise ConnectTimeoutError(
                conn, f"Connection to {host} timed out. (connect timeout={timeout})") from exc
        except OSError as exc:
            sock.close()
            error = exc
            continue
        sys.audit("http.client.connect", conn, host, port)
        return sock
    raise NewConnectionError(conn, f"Failed to establish a new connection: {error}") from error


class GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _open(self)


class GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _open(self)


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


def tls_context(cafile: str | None = None) -> ssl.SSLContext:
    """A TLS context that verifies certificates against ``cafile`` (default: requests' CA
    bundle) and keeps the deadline during the handshake and every read."""
    context = create_urllib3_context()
    context.load_verify_locations(cafile or DEFAULT_CA_BUNDLE_PATH)
    context.sslsocket_class = _DeadlineSSLSocket
    return context


class GuardedAdapter(HTTPAdapter):
    """A requests transport adapter whose connections go only to checked addresses, directly
    (never through a proxy), with TLS verified for the host name."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None, **kwargs: Any) -> None:
        self.ssl_context = ssl_context or tls_context()
        super().__init__(**kwargs)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False,
                         **pool_kwargs: Any) -> None:
        pool_kwargs["ssl_context"] = self.ssl_context
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool, "https": GuardedHTTPSConnectionPool,
        }

    def build_connection_pool_key_attributes(self, request: Any, verify: Any,
                                             cert: Any = None) -> Any:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert)
        if "ssl_context" in pool_kwargs:
            pool_kwargs["ssl_context"] = self.ssl_context
        return host_params, pool_kwargs

    def proxy_manager_for(self, proxy: Any, **proxy_kwargs: Any) -> Any:
        raise EgressRefused("webhooks are sent directly, never through a proxy.")


def build_session(ssl_context: ssl.SSLContext | None = None) -> requests.Session:
    """A requests session whose http and https connections go through ``GuardedAdapter``.

    It ignores the environment (proxies, ``.netrc`` credentials, CA bundle variables) and keeps
    no cookies. Send with ``request()``, which never follows a redirect.
    """
    session = requests.Session()
    session.trust_env = False
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    session.headers["User-Agent"] = f"django-model-triggers/{__version__}"
    size = max(10, int(settings.TRIGGER_MAX_WORKERS or 0))
    adapter = GuardedAdapter(ssl_context, pool_connections=size, pool_maxsize=size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


_session: requests.Session | None = None
_session_lock = threading.Lock()


def session() -> requests.Session:
    """This process's shared session (its connection pools are safe to use from threads)."""
    global _session
    if _session is None:
        with _session_lock:
            if _session is None:
                _session = build_session()
    return _session


def request(method: str, url: str, *, data: bytes | None = None, headers: Any = None,
            timeout: float | tuple[float, float] | None = None) -> requests.Response:
    """Send one request through the shared session and return the response unread
    (``stream``): no redirect is followed, nor is a redirect's body read, no cookie kept."""
    shared = session()
    prepared = shared.prepare_request(requests.Request(method, url, data=data, headers=headers))
    adapter = shared.get_adapter(prepared.url or url)
    return adapter.send(prepared, stream=True, timeout=timeout, verify=True, cert=None,
                        proxies={})
