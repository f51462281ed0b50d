"""The ``webhook`` action: an HTTP request per event, signed per Standard Webhooks.

Usable from code (``webhook("https://...", secret="env:HOOK_SECRET")``, exported by
``triggers.actions``) and from database rows (``{"type": "webhook", "url": ...}``); both are
checked by ``WebhookType``. The bodies (``preset``) are built in ``triggers.actions.payloads``.
Requests go through ``triggers.egress``: the address is checked when the URL is saved and
again when the connection is opened, redirects are never followed, and ``timeout`` is a total
deadline for connecting, sending and reading the whole answer.

Outcomes: a 2xx answer is a success (``TriggerResult.data`` holds ``status_code`` and the
start of the body); 410 raises ``ActionGone``; 429, 5xx, timeouts and connection errors raise
``RetryLater`` (with the ``Retry-After`` wait); any other answer raises ``ActionFailed``. The
raised exceptions carry ``status_code`` (None without an answer) and ``body``.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import email.utils
import hashlib
import hmac
import json
import logging
import os
import re
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.structures import CaseInsensitiveDict

from .. import egress
from ..conf import settings
from ..exceptions import ActionFailed, ActionGone, RetryLater, TriggerConfigurationError
from ..templating import render_data, template_problems
from .base import TriggerAction, TriggerResult
from .payloads import PAYLOADS, PRESETS, encode
from .types import ACTION_TYPES, ActionType

if TYPE_CHECKING:
    from ..context import TriggerContext

logger = logging.getLogger("triggers.actions.webhook")

METHODS = ("POST", "GET", "PUT", "PATCH", "DELETE")
#: Longest timeout, in seconds.
MAX_TIMEOUT = 300
#: Bytes of an answer read (the rest is not waited for) and characters of it recorded.
MAX_READ = 64 * 1024
MAX_BODY = 2_000
ENV = re.compile(r"env:([A-Za-z_][A-Za-z0-9_]*)")
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: Header names whose values are secrets: they may only be ``env:NAME`` references.
SECRET_HEADER = re.compile(
    r"auth|token|secret|passw|api[-_]?key|cookie|signature|credential|session", re.IGNORECASE)
#: Headers the webhook sets itself.
RESERVED_HEADERS = frozenset({
    "host", "content-length", "transfer-encoding", "connection", "webhook-id",
    "webhook-timestamp", "webhook-signature",
})


# Signing ---------------------------------------------------------------------------------


def secret_keys(value: str) -> list[bytes]:
    """The keys of a Standard Webhooks secret value: ``whsec_`` and base64, several separated
    by spaces while a secret is rotated. Raises ValueError (without the value) when one is
    not base64."""
    keys = []
    for part in value.split():
        try:
            keys.append(base64.b64decode(part.removeprefix("whsec_"), validate=True))
        except (binascii.Error, ValueError):
            raise ValueError("a secret is whsec_ followed by base64") from None
    if not keys:
        raise ValueError("the secret is empty")
    return keys


def sign(keys: list[bytes], message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: ``v1,<base64 HMAC-SHA256>`` of ``id.timestamp.body``
    for each key, separated by spaces."""
    content = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
        for key in keys
    )


def _from_env(value: str, key: str) -> str:
    match = ENV.fullmatch(value)
    if match is None:
        return value
    found = os.environ.get(match.group(1))
    if found is None:
        raise ActionFailed(f"webhook {key}: the environment variable {match.group(1)} is not "
                           "set; set it in the environment of the processes that send.")
    if any(c in found for c in "\r\n\0"):
        raise ActionFailed(f"webhook {key}: the value of the environment variable "
                           f"{match.group(1)} holds a line break; give it on one line.")
    return found.strip()


# The action ------------------------------------------------------------------------------


def _retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delay-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    now = datetime.datetime.now(datetime.timezone.utc)
    return max(0.0, (when - now).total_seconds())


def _timed_out(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (TimeoutError, requests.Timeout)) or (
            isinstance(current, urllib3.exceptions.TimeoutError)
            and not isinstance(current, urllib3.exceptions.NewConnectionError)
        ):
            return True
        current = getattr(current, "reason", None) or current.__cause__ or current.__context__
    return False


def _reason(exc: BaseException) -> str:
    """The innermost cause of a connection failure, in words, without the URL."""
    seen: set[int] = set()
    current: BaseException | None = exc
    found = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = current
        current = getattr(current, "reason", None) or current.__cause__ or current.__context__
    if isinstance(found, OSError) and found.strerror:
        return found.strerror
    if isinstance(found, egress.EgressRefused):
        return str(found)
    return type(found).__name__


def _read(response: requests.Response) -> str:
    """The start of the answer's body as text (at most ``MAX_READ`` bytes are read)."""
    data = bytearray()
    while len(data) < MAX_READ:
        chunk = response.raw.read(min(16_384, MAX_READ - len(data)), decode_content=True)
        if not chunk:
            break
        data += chunk
    try:
        text = bytes(data).decode(response.encoding or "utf-8", errors="replace")
    except LookupError:
        text = bytes(data).decode("utf-8", errors="replace")
    return text[:MAX_BODY]


def _failure(kind: type[ActionFailed], message: str, status_code: int | None = None,
             body: str = "", **kwargs: Any) -> ActionFailed:
    failure = kind(message, **kwargs)
    failure.status_code = status_code  # type: ignore[attr-defined]
    failure.body = body  # type: ignore[attr-defined]
    return failure


class WebhookAction(TriggerAction):
    """Send an HTTP request to ``url`` with a JSON body built from the event.

    ``preset`` picks the body (``default``, ``supabase``, ``hasura`` or ``none``); the keys of
    ``payload`` (a JSON template: its strings are ``{{ path }}`` templates) are added to it.
    ``headers`` values may be ``env:NAME`` references, read when sending; ``secret`` is such a
    reference to a Standard Webhooks secret (``whsec_...``) and signs the request. ``timeout``
    is a total deadline in seconds (None: ``TRIGGER_DEFAULT_TIMEOUT``); ``max_retries`` is read
    by async delivery (None: the trigger's). Build it with ``webhook()``, which checks it.
    """

    kind = "webhook"

    def __init__(self, url: str, *, method: str = "POST", headers: dict[str, str] | None = None,
                 secret: str | None = None, preset: str = "default", payload: Any = None,
                 timeout: float | None = None, max_retries: int | None = None) -> None:
        self.url = url
        self.method = method.upper()
        self.headers = dict(headers or {})
        self.secret = secret
        self.preset = preset
        self.payload = payload
        #: Seconds for the whole request (None: ``TRIGGER_DEFAULT_TIMEOUT``).
        self.timeout = timeout
        #: Retries in ``async`` mode (None: the trigger's).
        self.max_retries = max_retries
        #: The trigger's name for payloads, when the context does not carry it.
        self.trigger_name = ""

    @property
    def seconds(self) -> float:
        return float(self.timeout or settings.TRIGGER_DEFAULT_TIMEOUT or 30)

    @property
    def target(self) -> str:
        """``METHOD scheme://host/path``: the URL without its query, for messages."""
        try:
            parts = urlsplit(self.url)
            shown = f"{parts.scheme}://{parts.netloc}{parts.path}"
        except ValueError:
            shown = str(self.url).split("?")[0]
        return f"{self.method} {shown}"

    def body(self, context: TriggerContext, message_id: str) -> Any:
        """The JSON body for ``context``: the preset's, with ``payload``'s keys added."""
        trigger = getattr(context, "trigger_name", None) or self.trigger_name
        body = PAYLOADS[self.preset](context, trigger, message_id)
        if self.payload is not None:
            body.update(render_data(self.payload, context))
        return body

    def request_headers(self, message_id: str, body: bytes) -> CaseInsensitiveDict:
        headers: CaseInsensitiveDict = CaseInsensitiveDict()
        for name, value in self.headers.items():
            headers[name] = _from_env(value, f"headers.{name}")
        if body and "Content-Type" not in headers:
            headers["Content-Type"] = "application/json"
        timestamp = int(time.time())
        headers["webhook-id"] = message_id
        headers["webhook-timestamp"] = str(timestamp)
        if self.secret:
            try:
                keys = secret_keys(_from_env(self.secret, "secret"))
            except ValueError as exc:
                raise ActionFailed(f"webhook secret: the value of {self.secret[4:]} is not a "
                                   f"Standard Webhooks secret ({exc}).") from None
            headers["webhook-signature"] = sign(keys, message_id, timestamp, body)
        return headers

    def execute(self, context: TriggerContext) -> TriggerResult:
        problem = egress.check_url(self.url, resolve_names=False)
        if problem:
            raise _failure(ActionFailed, f"webhook {self.target}: {problem}")
        key = getattr(context, "delivery_key", None)
        message_id = str(key).replace(".", "_") if key else f"msg_{uuid.uuid4().hex}"
        body = b"" if self.method == "GET" else encode(self.body(context, message_id))
        headers = self.request_headers(message_id, body)
        seconds = self.seconds
        started = time.perf_counter()
        response = None
        try:
            with egress.deadline(seconds):
                response = egress.request(self.method, self.url, data=body or None,
                                          headers=headers, timeout=(seconds, seconds))
                try:
                    text = _read(response)
                finally:
                    response.close()
        except egress.EgressRefused as exc:
            raise _failure(ActionFailed, f"webhook {self.target}: {exc}") from None
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            status = None if response is None else response.status_code
            if _timed_out(exc):
                message = f"webhook {self.target}: no complete answer within {seconds:g} s."
            else:
                message = f"webhook {self.target}: cannot be reached ({_reason(exc)})."
            raise _failure(RetryLater, message, status) from None
        status = response.status_code
        logger.debug("webhook %s answered %s in %.0f ms", self.target, status,
                     (time.perf_counter() - started) * 1000)
        return self._outcome(response, status, text)

    def _outcome(self, response: requests.Response, status: int, text: str) -> TriggerResult:
        if 200 <= status < 300:
            return TriggerResult(True, f"HTTP {status}", data={"status_code": status,
                                                                "body": text})
        answered = f"webhook {self.target}: HTTP {status} {response.reason or ''}".rstrip()
        if status == 410:
            raise _failure(ActionGone, f"{answered}: the receiver says this endpoint is gone.",
                           status, text)
        if status == 429 or status >= 500:
            wait = _retry_after(response.headers.get("Retry-After"))
            later = "" if wait is None else f" (Retry-After: {wait:g} s)"
            raise _failure(RetryLater, f"{answered}{later}.", status, text, retry_after=wait)
        if 300 <= status < 400:
            location = (response.headers.get("Location") or "")[:500]
            raise _failure(ActionFailed, f"{answered}: redirects are not followed (Location: "
                           f"{location!r}); point the webhook at the final URL.", status, text)
        raise _failure(ActionFailed, f"{answered}.", status, text)

    def description(self) -> str:
        extras = [f"preset {self.preset}"] if self.preset != "default" else []
        if self.secret:
            extras.append("signed")
        return f"webhook {self.target}" + (f" ({', '.join(extras)})" if extras else "")


# Checking --------------------------------------------------------------------------------


def _header_problems(headers: Any) -> list[str]:
    if headers is None:
        return []
    if not isinstance(headers, dict):
        return ['headers: give an object of header names and values, e.g. {"X-Team": '
                '"billing", "Authorization": "env:BILLING_TOKEN"}.']
    problems = []
    for name, value in headers.items():
        key = f"headers.{name}"
        if not isinstance(name, str) or not HEADER_NAME.fullmatch(name):
            problems.append(f"{key}: not a header name; use letters, digits and hyphens.")
            continue
        if name.lower() in RESERVED_HEADERS:
            problems.append(f"{key}: the webhook sets this header itself; remove it.")
            continue
        if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
            problems.append(f"{key}: give the value as one line of text, or \"env:NAME\".")
        elif value.startswith("env:") and not ENV.fullmatch(value):
            problems.append(f"{key}: write an environment variable as \"env:NAME\", NAME made "
                            "of letters, digits and underscores.")
        elif not value.startswith("env:") and SECRET_HEADER.search(name):
            variable = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()
            problems.append(f"{key}: a literal value would be stored and exported in clear; "
                            "put it in an environment variable and write \"env:NAME\" here, "
                            f"e.g. \"env:WEBHOOK_{variable}\".")
    return problems


def _payload_problems(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ['payload: give a JSON object whose strings may hold {{ path }} placeholders, '
                'e.g. {"order": "{{ instance.id }}"}; its keys are added to the preset\'s body.']
    try:
        json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return [f"payload: give JSON values only ({exc})."]
    problems = []

    def walk(key: str, value: Any) -> None:
        if isinstance(value, str):
            problems.extend(f"{key}: {p}" for p in template_problems(value))
        elif isinstance(value, dict):
            for name, item in value.items():
                walk(f"{key}.{name}", item)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(f"{key}[{i}]", item)

    walk("payload", payload)
    return problems


def config_problems(config: dict[str, Any], *, resolve_names: bool = True) -> list[str]:
    """Every problem of a webhook configuration, as ``"key: what is wrong and the fix"``.
    ``resolve_names`` resolves the URL's host name and checks its addresses."""
    problems = []
    url_problem = egress.check_url(config.get("url"), resolve_names=resolve_names)
    if url_problem:
        problems.append(f"url: {url_problem}")
    method = config.get("method", "POST")
    if not isinstance(method, str) or method.upper() not in METHODS:
        problems.append(f"method: {method!r} is not a method webhooks use; use one of "
                        f"{', '.join(METHODS)}.")
    problems.extend(_header_problems(config.get("headers")))
    secret = config.get("secret")
    if secret is not None and (not isinstance(secret, str) or not ENV.fullmatch(secret)):
        problems.append('secret: give the environment variable that holds the Standard Webhooks '
                        'secret (whsec_...) as "env:NAME", e.g. "env:BILLING_HOOK_SECRET"; the '
                        "secret itself is never stored in a trigger.")
    preset = config.get("preset", "default")
    if preset not in PRESETS:
        problems.append(f"preset: {preset!r} is not a preset; use one of {', '.join(PRESETS)}.")
    if config.get("payload") is not None:
        problems.extend(_payload_problems(config["payload"]))
    timeout = config.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not 0 < timeout <= MAX_TIMEOUT):
        problems.append(f"timeout: give a number of seconds above 0 and at most {MAX_TIMEOUT}, "
                        "or null for TRIGGER_DEFAULT_TIMEOUT.")
    retries = config.get("max_retries")
    if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int)
                                or not 0 <= retries <= 100):
        problems.append("max_retries: give a whole number from 0 to 100, or null for the "
                        "trigger's.")
    return problems


def _loading() -> bool:
    from ..runtime import is_reloading

    return is_reloading()


class WebhookType(ActionType):
    name = "webhook"
    required = ("url",)
    optional = ("method", "headers", "secret", "preset", "payload", "timeout", "max_retries")
    help = ('a webhook action sends an HTTP request, e.g. {"url": "https://example.com/hooks", '
            '"secret": "env:HOOK_SECRET"}.')

    def check_values(self, config: dict[str, Any], model: Any) -> list[str]:
        # rows already saved are compiled again without resolving their host names: the
        # address is checked again at every connection anyway
        return config_problems(config, resolve_names=not _loading())

    def build(self, config: dict[str, Any], model: Any) -> TriggerAction:
        return WebhookAction(
            config["url"], method=config.get("method") or "POST",
            headers=config.get("headers"), secret=config.get("secret"),
            preset=config.get("preset") or "default", payload=config.get("payload"),
            timeout=config.get("timeout"), max_retries=config.get("max_retries"),
        )


def webhook(url: str, *, method: str = "POST", headers: dict[str, str] | None = None,
            secret: str | None = None, preset: str = "default", payload: Any = None,
            timeout: float | None = None, max_retries: int | None = None) -> WebhookAction:
    """An action that sends each event to ``url``; see ``WebhookAction``. The configuration is
    checked now (without resolving the host name, which is checked when sending)."""
    config = {"url": url, "method": method, "headers": headers, "secret": secret,
              "preset": preset, "payload": payload, "timeout": timeout,
              "max_retries": max_retries}
    problems = config_problems(config, resolve_names=False)
    if problems:
        raise TriggerConfigurationError("webhook(): " + " ".join(problems))
    return WEBHOOK.build(config, None)  # type: ignore[return-value]


WEBHOOK = WebhookType()
ACTION_TYPES.setdefault(WEBHOOK.name, WEBHOOK)
