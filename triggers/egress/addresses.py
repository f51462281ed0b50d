"""Which addresses webhooks may reach: a URL is checked when it is saved (``check_url``), and
every address again when a connection is opened (``checked_addresses``, used by
``triggers.egress.transport``).

Loopback, private, link-local, shared (CGNAT), unspecified, multicast, broadcast, reserved and
documentation addresses are refused, in every spelling: IPv6 forms that embed an IPv4 address
(IPv4-mapped, IPv4-compatible, 6to4, NAT64, Teredo) are judged by that address, and host names
that spell an IPv4 address the old way (``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``)
are refused at save. ``TRIGGER_WEBHOOK_ALLOWED_NETWORKS`` (settings only) is the one way to
allow a network; cloud metadata addresses stay refused whatever it says.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
from typing import Any
from urllib.parse import urlsplit

from ..conf import settings
from ..exceptions import EgressRefused, TriggerConfigurationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SETTING = "TRIGGER_WEBHOOK_ALLOWED_NETWORKS"
EXAMPLE = "https://example.com/hooks"

#: Refused whatever TRIGGER_WEBHOOK_ALLOWED_NETWORKS says: the instance metadata services of
#: AWS (EC2, ECS, IPv6), GCP and Azure (169.254.169.254), Azure's wire server, Alibaba and
#: Oracle Cloud. They hand out credentials to whoever asks from inside the machine.
METADATA = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "fd00:ec2::254", "168.63.129.16", "100.100.100.200",
    "192.0.0.192",
))
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog"})

#: Refused unless allowed, first match names the kind. IPv4-mapped IPv6 addresses are judged
#: as their IPv4 address; the other IPv6 forms that embed one are judged by it first.
BLOCKED = tuple((ipaddress.ip_network(net), kind) for net, kind in (
    ("0.0.0.0/8", "an unspecified ('this network') address"),
    ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local address"),
    ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "an IETF protocol assignment address"),
    ("192.0.2.0/24", "a documentation address"),
    ("192.88.99.0/24", "a 6to4 relay address"),
    ("192.168.0.0/16", "a private address"),
    ("198.18.0.0/15", "a benchmarking address"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("233.252.0.0/24", "a documentation (multicast) address"),
    ("224.0.0.0/4", "a multicast address"),
    ("255.255.255.255/32", "the broadcast address"),
    ("240.0.0.0/4", "a reserved address"),
    ("::/128", "the unspecified address"),
    ("::1/128", "a loopback address"),
    ("64:ff9b:1::/48", "a local-use NAT64 address"),
    ("::/8", "a reserved address"),
    ("100::/64", "a discard-only address"),
    ("2001:db8::/32", "a documentation address"),
    ("2001::/23", "an IETF protocol assignment address"),
    ("2002::/16", "a 6to4 address"),
    ("3fff::/20", "a documentation address"),
    ("5f00::/16", "an SRv6 address"),
    ("fc00::/7", "a private (unique local) address"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a site-local address"),
    ("ff00::/8", "a multicast address"),
))
LOOPBACK = ipaddress.ip_address("127.0.0.1")
GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
COMPATIBLE = ipaddress.ip_network("::/96")
HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")
#: A host name that may be an old-style IPv4 spelling: digits, dots and hex prefixes only.
NUMERIC_HOST = re.compile(r"[0-9a-fx.]+")


# Which addresses -------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _parse_networks(values: tuple[Any, ...]) -> tuple[Any, ...]:
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value))
        except (TypeError, ValueError) as exc:
            raise TriggerConfigurationError(
                f"{SETTING}: {value!r} is not a network ({exc}); write CIDR strings such as "
                "'10.20.0.0/16' or '192.168.1.20/32'."
            ) from None
    return tuple(networks)


def allowed_networks() -> tuple[Any, ...]:
    """The networks ``TRIGGER_WEBHOOK_ALLOWED_NETWORKS`` allows, parsed."""
    value = getattr(settings, SETTING)
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise TriggerConfigurationError(
            f"{SETTING} must be a list of CIDR strings such as ['10.20.0.0/16'], "
            f"not {value!r}."
        )
    return _parse_networks(tuple(value))


def _allowed(ip: IPAddress) -> bool:
    return any(ip.version == net.version and ip in net for net in allowed_networks())


def _embedded(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address carries, with the name of the form, if any."""
    if ip in NAT64:
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    if ip.teredo is not None:
        return "Teredo", ip.teredo[1]
    if ip in COMPATIBLE and int(ip) > 1:
        return "IPv4-compatible", ipaddress.IPv4Address(int(ip))
    return None


def classify(ip: IPAddress) -> tuple[str, bool] | None:
    """Why ``ip`` may not be contacted, as ``(what it is, whether the setting can allow it)``,
    or None when it may be."""
    if ip.version == 6:
        ip = ipaddress.IPv6Address(int(ip))  # without a scope id
        mapped = ip.ipv4_mapped
        if mapped is not None:
            found = classify(mapped)
            return None if found is None else (
                f"the IPv4-mapped form of {mapped}, {found[0]}", found[1])
    if ip in METADATA:
        return "a cloud metadata address", False
    embedded = _embedded(ip) if ip.version == 6 else None
    if embedded is not None and embedded[1] in METADATA:
        return f"the {embedded[0]} form of {embedded[1]}, a cloud metadata address", False
    if _allowed(ip):
        return None
    if embedded is not None:
        form, inner = embedded
        found = classify(inner)
        if found is not None:
            return f"the {form} form of {inner}, {found[0]}", True
        if form == "NAT64":
            return None  # the well-known NAT64 prefix of a public address
    for network, kind in BLOCKED:
        if ip.version == network.version and ip in network:
            return kind, True
    if ip.version == 6 and ip not in GLOBAL_UNICAST_V6:
        return "a reserved address", True
    if not ip.is_global:
        return "an address that is not globally reachable", True
    return None


def _sentence(subject: str, found: tuple[str, bool]) -> str:
    what, fixable = found
    if fixable:
        tail = f"webhooks may not reach it unless {SETTING} allows it."
    else:
        tail = f"webhooks may never reach it, whatever {SETTING} says."
    return f"{subject} {what}; {tail}"


def address_problem(address: str | IPAddress) -> str | None:
    """Why the IP address ``address`` may not be contacted, as a sentence, or None; raises
    ValueError when it is no IP address."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    found = classify(ip)
    return None if found is None else _sentence(f"{address} is", found)


def legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host spells the way ``inet_aton`` reads it (``2130706433``,
    ``0177.0.0.1``, ``0x7f.1``, ``127.1``), or None when it is no such spelling."""
    if not NUMERIC_HOST.fullmatch(host):
        return None
    parts = host.split(".")
    if len(parts) > 4:
        return None
    numbers = []
    for part in parts:
        if not part:
            return None
        if part[:2] == "0x":
            digits, base = part[2:], 16
        elif len(part) > 1 and part[0] == "0":
            digits, base = part[1:], 8
        else:
            digits, base = part, 10
        try:
            numbers.append(int(digits, base) if digits else 0)
        except ValueError:
            return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = last
    for i, number in enumerate(head):
        value += number << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def _is_localhost(name: str) -> bool:
    return name == "localhost" or name.endswith(".localhost")


def resolve(host: str, port: int | None) -> list[tuple[Any, ...]]:
    """``getaddrinfo`` answers for a TCP connection to ``host``; raises ``socket.gaierror``."""
    return socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM)


def check_url(url: Any, *, resolve_names: bool = True) -> str | None:
    """What is wrong with ``url`` as a webhook address, or None.

    The scheme must be http or https, the host present, no user name or password in it; an IP
    address is checked, an old-style numeric spelling refused, and a name resolved (unless
    ``resolve_names`` is false) with every answer checked. A name that does not resolve now is
    accepted: it is resolved and checked again at every connection.
    """
    if not isinstance(url, str) or not url.strip():
        return f"give the address to send to, such as {EXAMPLE}."
    if url != url.strip() or "\\" in url or any(c.isspace() or ord(c) < 32 or ord(c) == 127
                                                for c in url):
        return (f"{url!r} contains spaces, control characters or backslashes; write the URL "
                f"without them, such as {EXAMPLE}.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"{url!r} is not a valid URL ({exc}); write it like {EXAMPLE}."
    scheme = parts.scheme.lower()
    if scheme and scheme not in ("http", "https"):
        return f"{scheme}:// URLs are not sent; webhooks go to http:// or https:// URLs only."
    if not scheme or not parts.netloc:
        return f"{url!r} is not an absolute URL; write it with its scheme, like {EXAMPLE}."
    if "@" in parts.netloc:
        return ("the URL carries a user name or password; remove them and send credentials in "
                'a header whose value is an environment variable, e.g. {"Authorization": '
                '"env:HOOK_TOKEN"}.')
    host = parts.hostname
    if not host:
        return f"the URL has no host; write it like {EXAMPLE}."
    if port == 0:
        return "port 0 is not a port; give one from 1 to 65535, or none."
    return host_problem(host, port or (443 if scheme == "https" else 80),
                        resolve_names=resolve_names)


def host_problem(host: str, port: int, *, resolve_names: bool = True) -> str | None:
    """What is wrong with the host of a webhook URL (lower case, without brackets), or None."""
    name = host[:-1] if host.endswith(".") else host
    try:
        return address_problem(name)
    except ValueError:
        pass
    if not name.isascii():
        import idna

        try:
            name = idna.encode(name, uts46=True).decode("ascii").lower()
        except idna.IDNAError as exc:
            return f"{host!r} is not a valid host name ({exc})."
        try:
            return address_problem(name)
        except ValueError:
            pass
    legacy = legacy_ipv4(name)
    if legacy is not None:
        found = classify(legacy)
        if found is not None:
            return _sentence(f"{host!r} is an old-style (integer, octal, hexadecimal or "
                             f"shortened) spelling of {legacy},", found)
        return (f"{host!r} spells the IPv4 address {legacy} in an old-style (integer, octal, "
                f"hexadecimal or shortened) form that programs read differently; write "
                f"{legacy} instead.")
    if len(name) > 253 or not HOST_NAME.fullmatch(name):
        return (f"{host!r} is not a valid host name; use letters, digits, hyphens and dots, "
                f"such as {EXAMPLE}.")
    if name in METADATA_NAMES:
        return _sentence(f"{name} is", ("a cloud metadata name", False))
    if not resolve_names:
        return None
    try:
        answers = [info[4][0] for info in resolve(name, port)]
    except (OSError, UnicodeError):
        if _is_localhost(name) and classify(LOOPBACK) is not None:
            return _sentence(f"{name} is", ("a loopback name", True))
        return None
    for address in dict.fromkeys(answers):
        found = classify(ipaddress.ip_address(address))
        if found is not None:
            return _sentence(f"{name} resolves to {address}, which is", found)
    return None


def checked_addresses(host: str, port: int) -> list[tuple[Any, ...]]:
    """Resolve ``host`` once and return the answers, every one checked; raises
    ``EgressRefused`` when one of them may not be contacted (``socket.gaierror`` when the name
    does not resolve)."""
    answers = resolve(host, port)
    for *_, sockaddr in answers:
        address = sockaddr[0]
        found = classify(ipaddress.ip_address(address))
        if found is not None:
            subject = f"{address} is" if address == host.strip("[]") else (
                f"{host} resolves to {address}, which is")
            raise EgressRefused(_sentence(subject, found))
    if not answers:
        raise socket.gaierror(socket.EAI_NONAME, f"{host} has no address")
    return answers
