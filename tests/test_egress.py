"""The egress guard: which addresses webhooks may reach, at save time and at connect time.

A real HTTP server on 127.0.0.1 counts the connections it accepts, and ``socket.connect`` is
wrapped to record every address a connection is attempted to, so a refusal is proved by no
attempt at all. Only DNS is faked (``socket.getaddrinfo``), since the public internet is not
reachable from the tests.
"""

from __future__ import annotations

import http.server
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import urllib3
from django.test import override_settings

from triggers import egress
from triggers.definitions import check_action
from triggers.exceptions import TriggerConfigurationError

LOOPBACK_ALLOWED = override_settings(TRIGGER_WEBHOOK_ALLOWED_NETWORKS=["127.0.0.1/32"])
PUBLIC = "93.184.215.14"


# A receiver on 127.0.0.1 -----------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Any

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        receiver = self.server.receiver
        receiver.requests.append({"method": self.command, "path": self.path,
                                  "headers": dict(self.headers.items()), "body": body})
        route = receiver.routes.get(urlsplit(self.path).path, Receiver.ok)
        route(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

    def log_message(self, *args: Any) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def get_request(self) -> Any:
        request = super().get_request()
        self.receiver.connections += 1
        return request

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up on a slow answer


class Receiver:
    """An HTTP(S) server in a thread that records requests and counts connections.

    ``routes`` maps a path to ``f(handler)`` that writes the answer; any other path gets
    200 with ``{"ok": true}``.
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.connections = 0
        self.routes: dict[str, Any] = {}
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.receiver = self
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.scheme = "https" if tls is not None else "http"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def reset(self) -> None:
        self.requests.clear()
        self.routes.clear()
        self.connections = 0

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def ok(handler: Any) -> None:
        Receiver.answer(handler, 200, b'{"ok": true}', {"Content-Type": "application/json"})

    @staticmethod
    def answer(handler: Any, status: int, body: bytes = b"",
               headers: dict[str, str] | None = None) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def receiver(server):
    """The module's receiver, with no request, connection or route yet."""
    server.reset()
    return server


@pytest.fixture
def connects(monkeypatch):
    """Every address a socket is asked to connect to, in order."""
    seen: list[Any] = []
    original = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> Any:
        seen.append(address)
        return original(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen


def fake_dns(monkeypatch, answers: dict[str, Any]) -> list[str]:
    """Answer ``getaddrinfo`` for the names in ``answers`` (an address, a list of them, or a
    function of the call number giving one); other names resolve for real. Returns the names
    looked up, in order."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in answers:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        found = answers[host]
        if callable(found):
            found = found(asked.count(host))
        found = [found] if isinstance(found, str) else found
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
             (a, int(port or 0), 0, 0) if ":" in a else (a, int(port or 0)))
            for a in found
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


# The table of refused spellings -----------------------------------------------------------

#: (URL host as written, what the refusal says)
REFUSED = [
    ("127.0.0.1", "127.0.0.1 is a loopback address"),
    ("127.255.255.254", "a loopback address"),
    ("0.0.0.0", "an unspecified"),
    ("0.1.2.3", "an unspecified"),
    ("10.0.0.1", "a private address"),
    ("10.255.255.255", "a private address"),
    ("172.16.0.1", "a private address"),
    ("172.31.255.254", "a private address"),
    ("192.168.1.1", "a private address"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("169.254.1.1", "a link-local address"),
    ("169.254.169.254", "a cloud metadata address"),
    ("169.254.170.2", "a cloud metadata address"),
    ("100.100.100.200", "a cloud metadata address"),
    ("192.0.0.1", "an IETF protocol assignment address"),
    ("192.0.2.1", "a documentation address"),
    ("198.51.100.7", "a documentation address"),
    ("203.0.113.9", "a documentation address"),
    ("198.18.0.1", "a benchmarking address"),
    ("192.88.99.1", "a 6to4 relay address"),
    ("224.0.0.1", "a multicast address"),
    ("239.255.255.250", "a multicast address"),
    ("233.252.0.1", "a documentation (multicast) address"),
    ("240.0.0.1", "a reserved address"),
    ("255.255.255.255", "the broadcast address"),
    # IPv6
    ("[::1]", "::1 is a loopback address"),
    ("[::]", "the unspecified address"),
    ("[fc00::1]", "a private (unique local) address"),
    ("[fd12:3456::1]", "a private (unique local) address"),
    ("[fe80::1]", "a link-local address"),
    ("[fe80::1%25eth0]", "a link-local address"),
    ("[fec0::1]", "a site-local address"),
    ("[ff02::1]", "a multicast address"),
    ("[2001:db8::1]", "a documentation address"),
    ("[3fff::1]", "a documentation address"),
    ("[100::1]", "a discard-only address"),
    ("[fd00:ec2::254]", "a cloud metadata address"),
    ("[64:ff9b:1::1]", "a local-use NAT64 address"),
    # IPv6 forms that embed a refused IPv4 address
    ("[::ffff:127.0.0.1]", "the IPv4-mapped form of 127.0.0.1, a loopback address"),
    ("[::ffff:7f00:1]", "the IPv4-mapped form of 127.0.0.1, a loopback address"),
    ("[0:0:0:0:0:ffff:7f00:0001]", "the IPv4-mapped form of 127.0.0.1"),
    ("[::ffff:169.254.169.254]", "a cloud metadata address"),
    ("[::ffff:10.0.0.1]", "the IPv4-mapped form of 10.0.0.1, a private address"),
    ("[::127.0.0.1]", "the IPv4-compatible form of 127.0.0.1"),
    ("[64:ff9b::127.0.0.1]", "the NAT64 form of 127.0.0.1"),
    ("[64:ff9b::a9fe:a9fe]", "the NAT64 form of 169.254.169.254, a cloud metadata address"),
    ("[2002:7f00:1::]", "the 6to4 form of 127.0.0.1"),
    ("[2002:a9fe:a9fe::1]", "the 6to4 form of 169.254.169.254, a cloud metadata address"),
    ("[2001:0:4136:e378:8000:63bf:80ff:fffe]", "the Teredo form of 127.0.0.1"),
    # old-style spellings of IPv4 addresses
    ("2130706433", "old-style (integer, octal, hexadecimal or shortened) spelling of 127.0.0.1"),
    ("0x7f000001", "spelling of 127.0.0.1"),
    ("0177.0.0.1", "spelling of 127.0.0.1"),
    ("0177.0000.0000.0001", "spelling of 127.0.0.1"),
    ("0x7f.1", "spelling of 127.0.0.1"),
    ("0x7f.0.0.1", "spelling of 127.0.0.1"),
    ("127.1", "spelling of 127.0.0.1"),
    ("127.0.1", "spelling of 127.0.0.1"),
    ("10.1", "spelling of 10.0.0.1, a private address"),
    ("2852039166", "spelling of 169.254.169.254, a cloud metadata address"),
    ("0xa9.0xfe.0xa9.0xfe", "spelling of 169.254.169.254, a cloud metadata address"),
    ("0", "spelling of 0.0.0.0"),
    # names
    ("localhost", "localhost resolves to 127.0.0.1, which is a loopback address"),
    ("api.localhost", "a loopback name"),
    ("metadata.google.internal", "a cloud metadata name"),
    ("１２７．０．０．１", "127.0.0.1 is a loopback address"),
    ("127.0.0.1.", "a loopback address"),
]


@pytest.mark.parametrize("host,expected", REFUSED, ids=[h for h, _ in REFUSED])
def test_refused_at_save(host, expected):
    url = f"http://{host}:8080/hook"
    problem = egress.check_url(url)
    assert problem is not None and expected in problem, problem
    # and through the webhook type of database triggers, naming the key
    messages = check_action({"type": "webhook", "url": url}, None)
    assert len(messages) == 1 and messages[0].startswith("(webhook) url: "), messages
    assert expected in messages[0]


FIXABLE = [(h, e) for h, e in REFUSED if "metadata" not in e]


@pytest.mark.parametrize("host,expected", FIXABLE, ids=[h for h, _ in FIXABLE])
def test_refusals_name_the_setting_that_allows_them(host, expected):
    problem = egress.check_url(f"http://{host}/")
    if "old-style" in problem:
        assert "TRIGGER_WEBHOOK_ALLOWED_NETWORKS" in problem
    assert problem.endswith("webhooks may not reach it unless "
                            "TRIGGER_WEBHOOK_ALLOWED_NETWORKS allows it.")


#: Spellings a URL can carry to the connection (IPv6 hosts that this machine may not route
#: are refused before any connect too).
AT_CONNECT = [h for h, _ in REFUSED if h not in ("api.localhost", "metadata.google.internal")
              and not h.startswith("１")]


@pytest.mark.parametrize("host", AT_CONNECT)
def test_refused_at_connect_without_a_connection(host, connects, receiver):
    """The guard itself, without the save-time check: no socket connects."""
    with pytest.raises((egress.EgressRefused, requests.ConnectionError)) as raised:
        egress.session().get(f"http://{host}:{receiver.port}/hook", timeout=2,
                             allow_redirects=False)
    assert connects == []
    assert receiver.connections == 0
    if raised.type is not egress.EgressRefused:  # a name this machine cannot resolve
        assert isinstance(raised.value, requests.ConnectionError)


def test_refused_by_default_then_allowed_by_the_setting(receiver, connects):
    with pytest.raises(egress.EgressRefused, match="127.0.0.1 is a loopback address"):
        egress.session().get(receiver.url(), timeout=2)
    assert receiver.connections == 0 and connects == []
    with LOOPBACK_ALLOWED:
        assert egress.check_url(receiver.url()) is None
        response = egress.session().get(receiver.url(), timeout=2)
    assert response.status_code == 200
    assert receiver.connections == 1
    assert connects == [("127.0.0.1", receiver.port)]


@override_settings(TRIGGER_WEBHOOK_ALLOWED_NETWORKS=["0.0.0.0/0", "::/0", "169.254.0.0/16"])
@pytest.mark.parametrize("host", ["169.254.169.254", "[fd00:ec2::254]", "100.100.100.200",
                                  "[::ffff:169.254.169.254]", "metadata.google.internal"])
def test_metadata_stays_refused_whatever_the_setting(host, connects):
    problem = egress.check_url(f"http://{host}/latest/meta-data/")
    assert "cloud metadata" in problem
    assert "may never reach it, whatever TRIGGER_WEBHOOK_ALLOWED_NETWORKS says" in problem
    if host != "metadata.google.internal":
        with pytest.raises(egress.EgressRefused):
            egress.session().get(f"http://{host}/latest/meta-data/", timeout=2)
    assert connects == []


@override_settings(TRIGGER_WEBHOOK_ALLOWED_NETWORKS=["10.20.0.0/16", "fd00:1::/64"])
def test_allowed_networks_open_only_themselves():
    assert egress.check_url("http://10.20.3.4/") is None
    assert egress.check_url("http://[::ffff:10.20.3.4]/") is None  # judged as its IPv4
    assert egress.check_url("http://[fd00:1::5]/") is None
    assert "a private address" in egress.check_url("http://10.21.0.1/")
    assert "a loopback address" in egress.check_url("http://127.0.0.1/")
    assert "unique local" in egress.check_url("http://[fd00:2::5]/")
    # an old-style spelling is refused even inside an allowed network
    assert "write 10.20.0.1 instead" in egress.check_url("http://10.20.1/")


@pytest.mark.parametrize("value", [["10.0.0.1/8"], ["not a network"], "10.0.0.0/8", [None]])
def test_a_bad_setting_is_a_configuration_error(value):
    with override_settings(TRIGGER_WEBHOOK_ALLOWED_NETWORKS=value):
        with pytest.raises(TriggerConfigurationError, match="TRIGGER_WEBHOOK_ALLOWED_NETWORKS"):
            egress.check_url("http://10.0.0.1/")


@pytest.mark.parametrize("host", ["8.8.8.8", "1.1.1.1.", "[2606:4700:4700::1111]",
                                  "[::ffff:8.8.8.8]", "[64:ff9b::808:808]"])
def test_public_addresses_are_accepted(host):
    assert egress.check_url(f"https://{host}/hook") is None


def test_a_name_that_does_not_resolve_is_accepted_at_save(monkeypatch):
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    assert egress.check_url("https://billing.example.com/hooks") is None


@pytest.mark.parametrize("url,expected", [
    (None, "give the address to send to"),
    ("", "give the address to send to"),
    ("example.com/hooks", "is not an absolute URL"),
    ("ftp://example.com/hooks", "ftp:// URLs are not sent"),
    ("file:///etc/passwd", "file:// URLs are not sent"),
    ("gopher://127.0.0.1:6379/_INFO", "gopher:// URLs are not sent"),
    ("https://user:pw@example.com/", "carries a user name or password"),
    ("https://token@example.com/", "carries a user name or password"),
    ("https:///hooks", "is not an absolute URL"),
    ("https://:443/hooks", "has no host"),
    ("https://example.com:99999/", "is not a valid URL"),
    ("https://example.com:0/", "port 0 is not a port"),
    ("https://[::1/", "is not a valid URL"),
    ("https://exa mple.com/", "contains spaces"),
    ("https://example.com/\nHost: evil", "control characters"),
    ("https://example.com\\@127.0.0.1/", "backslashes"),
    ("https://ex%41mple.com/", "is not a valid host name"),
    ("https://exa_mple..com/", "is not a valid host name"),
    ("http://" + "a" * 254 + "/", "is not a valid host name"),
])
def test_malformed_urls(url, expected):
    problem = egress.check_url(url)
    assert problem is not None and expected in problem, problem


@pytest.mark.parametrize("host,expected", [
    ("2130706433", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"), ("127.1", "127.0.0.1"), ("127.0.1", "127.0.0.1"),
    ("1.2.3.4", "1.2.3.4"), ("010.010.010.010", "8.8.8.8"), ("0", "0.0.0.0"),
    ("4294967295", "255.255.255.255"), ("0x", "0.0.0.0"),
    ("4294967296", None), ("256.1.1.1", None), ("1.2.3.4.5", None), ("08", None),
    ("1..1", None), ("cafe", None), ("example.com", None), ("0xg1", None), ("1.2.65536", None),
])
def test_legacy_ipv4_reads_like_inet_aton(host, expected):
    found = egress.legacy_ipv4(host)
    assert (None if found is None else str(found)) == expected


# DNS: resolved once, every answer checked, connected to the checked address ---------------


def test_dns_rebinding_is_refused_at_connect(monkeypatch, receiver, connects):
    """Public when the URL is saved, loopback when the webhook connects: refused, and no
    socket connects."""
    asked = fake_dns(monkeypatch, {"hooks.test": lambda n: PUBLIC if n == 1 else "127.0.0.1"})
    url = f"http://hooks.test:{receiver.port}/hook"
    assert egress.check_url(url) is None
    with pytest.raises(egress.EgressRefused,
                       match="hooks.test resolves to 127.0.0.1, which is a loopback address"):
        egress.session().get(url, timeout=2)
    assert asked == ["hooks.test", "hooks.test"]
    assert connects == [] and receiver.connections == 0


@LOOPBACK_ALLOWED
def test_the_connection_goes_to_the_checked_address(monkeypatch, receiver, connects):
    """The name is resolved once per connection and the socket connects to that answer, even
    when a second lookup would say otherwise; Host is the name."""
    asked = fake_dns(monkeypatch, {"hooks.test": lambda n: "127.0.0.1" if n == 1 else "10.9.9.9"})
    response = egress.session().get(f"http://hooks.test:{receiver.port}/pinned", timeout=2)
    assert response.status_code == 200
    assert asked == ["hooks.test"]
    assert connects == [("127.0.0.1", receiver.port)]
    assert receiver.requests[0]["headers"]["Host"] == f"hooks.test:{receiver.port}"


@LOOPBACK_ALLOWED
def test_one_refused_answer_refuses_the_name(monkeypatch, receiver, connects):
    fake_dns(monkeypatch, {"hooks.test": ["127.0.0.1", "10.0.0.7"]})
    url = f"http://hooks.test:{receiver.port}/hook"
    assert "resolves to 10.0.0.7, which is a private address" in egress.check_url(url)
    with pytest.raises(egress.EgressRefused, match="10.0.0.7"):
        egress.session().get(url, timeout=2)
    assert connects == [] and receiver.connections == 0


def test_a_name_that_does_not_resolve_fails_closed_at_connect(monkeypatch, connects):
    fake_dns(monkeypatch, {"gone.test": []})
    with pytest.raises(requests.ConnectionError):
        egress.session().get("http://gone.test/hook", timeout=2)
    assert connects == []


@LOOPBACK_ALLOWED
def test_proxies_and_netrc_from_the_environment_are_ignored(monkeypatch, receiver, tmp_path):
    monkeypatch.setenv("HTTP_PROXY", "http://10.1.2.3:3128")
    monkeypatch.setenv("http_proxy", "http://10.1.2.3:3128")
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login ann password hunter2\n")
    monkeypatch.setenv("NETRC", str(netrc))
    response = egress.session().get(receiver.url(), timeout=2)
    assert response.status_code == 200
    assert "Authorization" not in receiver.requests[0]["headers"]


@LOOPBACK_ALLOWED
def test_no_cookies_are_kept(receiver):
    receiver.routes["/cookie"] = lambda h: Receiver.answer(h, 200, b"", {"Set-Cookie": "s=1"})
    egress.session().get(receiver.url("/cookie"), timeout=2)
    egress.session().get(receiver.url(), timeout=2)
    assert "Cookie" not in receiver.requests[1]["headers"]
    assert len(egress.session().cookies) == 0


# The deadline ------------------------------------------------------------------------------


def _drip_headers(handler: Any) -> None:
    for byte in b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nX-Slow: " + b"x" * 50:
        try:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
        except OSError:
            return
        time.sleep(0.2)


@LOOPBACK_ALLOWED
def test_the_deadline_cuts_a_server_that_drips_its_headers(receiver):
    receiver.routes["/drip"] = _drip_headers
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout), egress.deadline(1):
        egress.session().get(receiver.url("/drip"), timeout=(5, 5))
    assert time.monotonic() - started < 2


# TLS: the certificate is verified for the name, SNI is the name ----------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for hooks.test (openssl is needed to make it)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=hooks.test",
         "-addext", "subjectAltName=DNS:hooks.test"],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_receiver(certificate):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server = Receiver(tls=context)
    server.sni = names
    yield server
    server.stop()


@pytest.fixture
def tls_session(certificate):
    session = egress.build_session(egress.tls_context(str(certificate[0])))
    yield session
    session.close()


@LOOPBACK_ALLOWED
def test_tls_is_verified_for_the_name_while_pinned_to_the_checked_address(
        monkeypatch, tls_receiver, tls_session, connects):
    fake_dns(monkeypatch, {"hooks.test": "127.0.0.1", "other.test": "127.0.0.1"})
    response = tls_session.get(tls_receiver.url("/tls", host="hooks.test"), timeout=5)
    assert response.status_code == 200
    assert tls_receiver.sni == ["hooks.test"]
    assert tls_receiver.requests[0]["headers"]["Host"] == f"hooks.test:{tls_receiver.port}"
    assert connects == [("127.0.0.1", tls_receiver.port)]
    with pytest.raises(requests.exceptions.SSLError):
        tls_session.get(tls_receiver.url("/tls", host="other.test"), timeout=5)
    with pytest.raises(requests.exceptions.SSLError):  # not in the default CA bundle
        egress.session().get(tls_receiver.url("/tls", host="hooks.test"), timeout=5)


@LOOPBACK_ALLOWED
def test_the_deadline_cuts_a_tls_server_that_drips(monkeypatch, tls_receiver, tls_session):
    fake_dns(monkeypatch, {"hooks.test": "127.0.0.1"})

    def drip(handler: Any) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        handler.wfile.flush()
        for _ in range(100):
            try:
                handler.wfile.write(b"x")
                handler.wfile.flush()
            except OSError:
                return
            time.sleep(0.3)

    tls_receiver.routes["/drip"] = drip
    started = time.monotonic()
    with pytest.raises(urllib3.exceptions.ReadTimeoutError), egress.deadline(1):
        response = tls_session.get(tls_receiver.url("/drip", host="hooks.test"),
                                   timeout=(5, 5), stream=True)
        response.raw.read(100)
    assert time.monotonic() - started < 2


def test_classify_strips_scope_and_reads_mapped_addresses():
    assert egress.classify(ipaddress.ip_address("fe80::1%eth0"))[0] == "a link-local address"
    with LOOPBACK_ALLOWED:
        assert egress.classify(ipaddress.ip_address("::ffff:127.0.0.1")) is None
        assert egress.classify(ipaddress.ip_address("::1")) is not None
