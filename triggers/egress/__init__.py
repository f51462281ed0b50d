"""Where webhooks may go: a URL is checked when it is saved, and every address again when a
connection is opened.

``addresses`` says which addresses may be contacted (``check_url``, ``classify``, the
``TRIGGER_WEBHOOK_ALLOWED_NETWORKS`` setting); ``transport`` opens connections only to checked
addresses, within a total deadline (``session``, ``request``, ``deadline``). Both are named
here, so users write ``egress.check_url(...)`` and ``egress.request(...)``.
"""

from ..exceptions import EgressRefused
from .addresses import (
    BLOCKED,
    METADATA,
    METADATA_NAMES,
    SETTING,
    address_problem,
    allowed_networks,
    check_url,
    checked_addresses,
    classify,
    host_problem,
    legacy_ipv4,
    resolve,
)
from .transport import (
    GuardedAdapter,
    GuardedHTTPConnection,
    GuardedHTTPConnectionPool,
    GuardedHTTPSConnection,
    GuardedHTTPSConnectionPool,
    build_session,
    deadline,
    request,
    session,
    tls_context,
)

__all__ = [
    "BLOCKED",
    "METADATA",
    "METADATA_NAMES",
    "SETTING",
    "EgressRefused",
    "GuardedAdapter",
    "GuardedHTTPConnection",
    "GuardedHTTPConnectionPool",
    "GuardedHTTPSConnection",
    "GuardedHTTPSConnectionPool",
    "address_problem",
    "allowed_networks",
    "build_session",
    "check_url",
    "checked_addresses",
    "classify",
    "deadline",
    "host_problem",
    "legacy_ipv4",
    "request",
    "resolve",
    "session",
    "tls_context",
]
