"""Actions that send messages: ``email``, ``celery_task`` and ``redis_publish``.

Each is usable from code (``send_email(...)``, ``celery_task(...)``, ``redis_publish(...)``,
exported by ``triggers.actions``) and from database rows (``{"type": "email", ...}``); both are
checked by the same ``ActionType``. Text values are ``{{ path }}`` templates (see
``triggers.templating``). An action returns a successful ``TriggerResult``, raises
``RetryLater`` when the failure is worth retrying (the mail server, the broker or Redis cannot
be reached) and ``ActionFailed`` when it is not. Celery and redis-py are imported only when an
action runs, so neither is needed by projects that do not use these actions.
"""

from __future__ import annotations

import contextlib
import fnmatch
import html
import json
import re
import smtplib
import threading
from email.utils import getaddresses
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_email

from ..base.trigger_base import TriggerAction, TriggerResult
from ..conf import settings
from ..exceptions import ActionFailed, RetryLater, TriggerConfigurationError
from ..templating import (
    MAX_OUTPUT,
    is_template,
    plain,
    render,
    render_data,
    template_problems,
)
from .types import ACTION_TYPES, ActionType

if TYPE_CHECKING:
    from ..base.context import TriggerContext

#: Longest Celery countdown an action may ask for; longer waits belong in the database.
MAX_COUNTDOWN = 300
#: Longest per-action timeout, in seconds.
MAX_TIMEOUT = 300
#: Characters of a rendered email body (the subject and addresses use ``MAX_OUTPUT``).
MAX_BODY = 100_000
TASK_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:\-]*")


class MessagingAction(TriggerAction):
    """What the three actions share: ``max_retries`` and ``timeout`` for delivery."""

    def __init__(self, max_retries: int | None = None, timeout: float | None = None) -> None:
        #: Retries in ``async`` mode; None: the trigger's.
        self.max_retries = max_retries
        #: Seconds this action may take; None: ``TRIGGER_DEFAULT_TIMEOUT``.
        self.timeout = timeout

    @property
    def seconds(self) -> float:
        """The timeout in force: the action's, else ``TRIGGER_DEFAULT_TIMEOUT``."""
        return float(self.timeout or settings.TRIGGER_DEFAULT_TIMEOUT or 30)


def _check_delivery(config: dict[str, Any]) -> list[str]:
    problems = []
    retries = config.get("max_retries")
    if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int)
                                or not 0 <= retries <= 100):
        problems.append("max_retries: give a whole number from 0 to 100, or null for the "
                        "trigger's.")
    timeout = config.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not 0 < timeout <= MAX_TIMEOUT):
        problems.append(f"timeout: give a number of seconds above 0 and at most {MAX_TIMEOUT}, "
                        "or null for TRIGGER_DEFAULT_TIMEOUT.")
    return problems


def _check_text(key: str, value: Any, *, required: bool = True) -> list[str]:
    if not isinstance(value, str) or (required and not value.strip()):
        return [f"{key}: give a non-empty text (it may hold {{{{ path }}}} placeholders)."]
    return [f"{key}: {p}" for p in template_problems(value)]


def _check_strings(key: str, value: Any) -> list[str]:
    """Template problems of every string inside a JSON value."""
    if isinstance(value, str):
        return [f"{key}: {p}" for p in template_problems(value)]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _check_strings(f"{key}.{k}", v)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _check_strings(f"{key}[{i}]", v)]
    return []


def _json_problem(key: str, value: Any) -> list[str]:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return [f"{key}: give JSON values only ({exc})."]
    return []


def _raise_problems(factory: str, problems: list[str]) -> None:
    if problems:
        raise TriggerConfigurationError(f"{factory}(): " + " ".join(problems))


# email -----------------------------------------------------------------------------------


def valid_address(value: Any) -> str | None:
    """The address of ``value`` ("ops@example.com" or "Ops <ops@example.com>") when it is one
    valid address, else None."""
    if not isinstance(value, str) or "\r" in value or "\n" in value:
        return None
    found = getaddresses([value])
    if len(found) != 1 or not found[0][1]:
        return None
    try:
        validate_email(found[0][1])
    except ValidationError:
        return None
    return value.strip()


class EmailAction(MessagingAction):
    """Send an email through Django's mail backend (``EMAIL_BACKEND``).

    ``to``, ``cc`` and ``bcc`` hold addresses or templates that render to one address each
    (``{{ instance.owner.email }}``); rendered values that are not a valid address are left
    out, and with no recipient left the action fails. The subject is rendered on one line (line
    breaks become spaces: no header injection); values in ``html_body`` are HTML-escaped.
    """

    def __init__(self, to: list[str], subject: str, body: str, *, from_email: str | None = None,
                 cc: list[str] | tuple[str, ...] = (), bcc: list[str] | tuple[str, ...] = (),
                 html_body: str | None = None, max_retries: int | None = None,
                 timeout: float | None = None) -> None:
        super().__init__(max_retries, timeout)
        self.to = list(to)
        self.subject = subject
        self.body = body
        self.from_email = from_email
        self.cc = list(cc)
        self.bcc = list(bcc)
        self.html_body = html_body

    def _addresses(self, values: list[str], context: TriggerContext,
                   dropped: list[str]) -> list[str]:
        found = []
        for value in values:
            text = render(value, context) if is_template(value) else value
            if not text.strip():
                continue  # an empty value, such as the email of an object that has none
            address = valid_address(text)
            if address is None:
                dropped.append(text)
            elif address not in found:
                found.append(address)
        return found

    def execute(self, context: TriggerContext) -> TriggerResult:
        from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection

        dropped: list[str] = []
        to = self._addresses(self.to, context, dropped)
        cc = self._addresses(self.cc, context, dropped)
        bcc = self._addresses(self.bcc, context, dropped)
        if not (to or cc or bcc):
            shown = ", ".join(repr(d) for d in dropped) or "nothing"
            raise ActionFailed(f"email: no valid recipient (to, cc and bcc rendered {shown}).")
        subject = " ".join(render(self.subject, context).split())
        body = render(self.body, context, MAX_BODY)
        options = {"timeout": self.timeout} if self.timeout else {}
        connection = get_connection(**options)
        message = EmailMultiAlternatives(subject, body, self.from_email or None, to, bcc=bcc,
                                         cc=cc, connection=connection)
        if self.html_body:
            message.attach_alternative(
                render(self.html_body, context, MAX_BODY, escape=html.escape), "text/html")
        try:
            connection.open()
            message.send()
        except BadHeaderError as exc:
            raise ActionFailed(f"email: {exc}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            text = f"email: every recipient was refused: {exc.recipients}"
            if all(400 <= code < 500 for code, _answer in exc.recipients.values()):
                raise RetryLater(text) from exc  # a full mailbox, greylisting
            raise ActionFailed(text) from exc
        except smtplib.SMTPResponseException as exc:
            text = f"email: the mail server answered {exc.smtp_code} {exc.smtp_error!r}"
            if 400 <= exc.smtp_code < 500:
                raise RetryLater(text) from exc
            raise ActionFailed(text) from exc
        except OSError as exc:  # connection refused, timeouts, SMTPServerDisconnected
            raise RetryLater(f"email: the mail server cannot be reached: {exc}") from exc
        finally:
            # opened here, closed here: Django 4.2 leaves the connection open when sending fails
            with contextlib.suppress(Exception):
                connection.close()
        sent = [*to, *cc, *bcc]
        note = f" (left out: {', '.join(repr(d) for d in dropped)})" if dropped else ""
        return TriggerResult(True, f"email {subject!r} sent to {', '.join(sent)}{note}",
                             data={"to": to, "cc": cc, "bcc": bcc, "subject": subject})

    def description(self) -> str:
        return f"email {self.subject!r} to {', '.join(self.to)}"


class EmailType(ActionType):
    name = "email"
    required = ("to", "subject", "body")
    optional = ("from_email", "cc", "bcc", "html_body", "max_retries", "timeout")
    help = ('an email action sends a message, e.g. {"to": ["{{ instance.owner.email }}"], '
            '"subject": "Order {{ instance.id }}", "body": "It is {{ instance.status }}."}.')

    def check_values(self, config: dict[str, Any], model: Any) -> list[str]:
        problems = []
        for key in ("to", "cc", "bcc"):
            if key not in config:
                continue
            values = config[key]
            if not isinstance(values, list) or (key == "to" and not values):
                problems.append(f"{key}: give a list of addresses or templates, e.g. "
                                '["ops@example.com", "{{ instance.owner.email }}"].')
                continue
            for value in values:
                if is_template(value):
                    problems.extend(f"{key}: {p}" for p in template_problems(value))
                elif valid_address(value) is None:
                    problems.append(f"{key}: {value!r} is not a valid email address; give an "
                                    "address such as 'ops@example.com' or a template such as "
                                    "'{{ instance.owner.email }}'.")
        problems.extend(_check_text("subject", config["subject"]))
        problems.extend(_check_text("body", config["body"]))
        if "html_body" in config:
            problems.extend(_check_text("html_body", config["html_body"]))
        sender = config.get("from_email")
        if sender is not None and valid_address(sender) is None:
            problems.append(f"from_email: {sender!r} is not a valid email address; give one "
                            "such as 'Shop <noreply@example.com>', or leave it out for "
                            "DEFAULT_FROM_EMAIL.")
        problems.extend(_check_delivery(config))
        return problems

    def build(self, config: dict[str, Any], model: Any) -> TriggerAction:
        return EmailAction(
            config["to"], config["subject"], config["body"],
            from_email=config.get("from_email"), cc=config.get("cc", ()),
            bcc=config.get("bcc", ()), html_body=config.get("html_body"),
            max_retries=config.get("max_retries"), timeout=config.get("timeout"),
        )


def send_email(to: str | list[str], subject: str, body: str, *, from_email: str | None = None,
               cc: list[str] | tuple[str, ...] = (), bcc: list[str] | tuple[str, ...] = (),
               html_body: str | None = None, max_retries: int | None = None,
               timeout: float | None = None) -> EmailAction:
    """An action that sends an email; ``to`` is an address, a template or a list of them."""
    config: dict[str, Any] = {
        "to": [to] if isinstance(to, str) else list(to), "subject": subject, "body": body,
        "cc": list(cc), "bcc": list(bcc), "from_email": from_email, "max_retries": max_retries,
        "timeout": timeout,
    }
    if html_body is not None:
        config["html_body"] = html_body
    _raise_problems("send_email", EmailType().check(config, None))
    return EmailAction(config["to"], subject, body, from_email=from_email, cc=cc, bcc=bcc,
                       html_body=html_body, max_retries=max_retries, timeout=timeout)


# celery_task -----------------------------------------------------------------------------


def task_allowed(name: str) -> bool:
    """Whether ``TRIGGER_CELERY_TASKS`` lets actions send the Celery task ``name``."""
    patterns = settings.TRIGGER_CELERY_TASKS
    if isinstance(patterns, str):
        patterns = [patterns]
    return any(fnmatch.fnmatchcase(name, str(pattern)) for pattern in patterns or ())


def _not_allowed(name: str) -> str:
    patterns = settings.TRIGGER_CELERY_TASKS
    now = ", ".join(map(repr, patterns)) if patterns else "empty, so none is"
    return (f"{name!r} is not allowed: add it (or a pattern such as 'shop.tasks.*') to the "
            f"setting TRIGGER_CELERY_TASKS, the Celery tasks triggers may send (now {now}).")


def celery_app() -> Any:
    """The Celery app tasks are sent with: ``TRIGGER_CELERY_APP`` or Celery's current app."""
    path = settings.TRIGGER_CELERY_APP
    if path:
        from django.utils.module_loading import import_string

        try:
            return import_string(path)
        except ImportError as exc:
            raise ActionFailed(f"celery_task: TRIGGER_CELERY_APP {path!r} cannot be imported: "
                               f"{exc}") from exc
    try:
        from celery import current_app
    except ImportError:
        raise ActionFailed("celery_task: Celery is not installed; install it (pip install "
                           "celery) and define your project's Celery app.") from None
    app = current_app._get_current_object()
    if app.main == "default" and not app.conf.broker_url:
        raise ActionFailed(
            "celery_task: this thread has no Celery app (Celery's current app is its unconfigured "
            "fallback); set TRIGGER_CELERY_APP to your app's path, e.g. 'proj.celery.app', or "
            "call app.set_default() where you create it.")
    return app


class CeleryTaskAction(MessagingAction):
    """Send the Celery task ``task`` by name (``app.send_task``), with ``args`` and ``kwargs``
    rendered from the context. Only tasks allowed by ``TRIGGER_CELERY_TASKS`` are sent."""

    def __init__(self, task: str, args: list[Any] | tuple[Any, ...] = (),
                 kwargs: dict[str, Any] | None = None, *, queue: str | None = None,
                 countdown: float | None = None, max_retries: int | None = None,
                 timeout: float | None = None) -> None:
        super().__init__(max_retries, timeout)
        self.task = task
        self.args = list(args)
        self.kwargs = dict(kwargs or {})
        self.queue = queue
        self.countdown = countdown

    def execute(self, context: TriggerContext) -> TriggerResult:
        if not task_allowed(self.task):
            raise ActionFailed(f"celery_task: {_not_allowed(self.task)}")
        app = celery_app()
        from kombu.exceptions import EncodeError, OperationalError

        args = render_data(self.args, context)
        kwargs = render_data(self.kwargs, context)
        options: dict[str, Any] = {}
        if self.queue:
            options["queue"] = self.queue
        if self.countdown:
            options["countdown"] = self.countdown
        try:
            result = app.send_task(self.task, args=args, kwargs=kwargs, **options)
        except EncodeError as exc:
            raise ActionFailed(f"celery_task: the arguments cannot be sent: {exc}") from exc
        except (OperationalError, OSError) as exc:
            raise RetryLater(f"celery_task: the broker cannot be reached: {exc}") from exc
        return TriggerResult(True, f"sent Celery task {self.task} (id {result.id})",
                             data={"task_id": result.id, "args": args, "kwargs": kwargs})

    def description(self) -> str:
        return f"send Celery task {self.task}"


class CeleryTaskType(ActionType):
    name = "celery_task"
    required = ("task",)
    optional = ("args", "kwargs", "queue", "countdown", "max_retries", "timeout")
    help = ('a celery_task action sends a Celery task allowed by TRIGGER_CELERY_TASKS, e.g. '
            '{"task": "shop.tasks.notify", "args": ["{{ instance.id }}"]}.')

    def check_values(self, config: dict[str, Any], model: Any) -> list[str]:
        return self.shape_problems(config) + self.allow_problems(config)

    def shape_problems(self, config: dict[str, Any]) -> list[str]:
        """Every problem but the allow-list's."""
        problems = []
        task = config["task"]
        if not isinstance(task, str) or not TASK_NAME.fullmatch(task):
            problems.append(f"task: {task!r} is not a task name; give the name the task is "
                            "registered under, e.g. 'shop.tasks.notify'.")
        args = config.get("args", [])
        if not isinstance(args, list):
            problems.append('args: give a list, e.g. ["{{ instance.id }}", 3].')
        else:
            problems.extend(_json_problem("args", args) or _check_strings("args", args))
        kwargs = config.get("kwargs", {})
        if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
            problems.append('kwargs: give an object, e.g. {"order_id": "{{ instance.id }}"}.')
        else:
            problems.extend(_json_problem("kwargs", kwargs) or _check_strings("kwargs", kwargs))
        queue = config.get("queue")
        if queue is not None and (not isinstance(queue, str) or not queue.strip()
                                  or len(queue.split()) != 1):
            problems.append("queue: give a queue name without spaces, or leave it out for the "
                            "task's default queue.")
        countdown = config.get("countdown")
        if countdown is not None and (isinstance(countdown, bool)
                                      or not isinstance(countdown, (int, float))
                                      or not 0 <= countdown <= MAX_COUNTDOWN):
            problems.append(f"countdown: give a number of seconds from 0 to {MAX_COUNTDOWN} "
                            "(longer waits belong in the database, not in the broker).")
        problems.extend(_check_delivery(config))
        return problems

    def allow_problems(self, config: dict[str, Any]) -> list[str]:
        task = config["task"]
        if isinstance(task, str) and TASK_NAME.fullmatch(task) and not task_allowed(task):
            return [f"task: {_not_allowed(task)}"]
        return []

    def build(self, config: dict[str, Any], model: Any) -> TriggerAction:
        return CeleryTaskAction(
            config["task"], config.get("args", ()), config.get("kwargs"),
            queue=config.get("queue"), countdown=config.get("countdown"),
            max_retries=config.get("max_retries"), timeout=config.get("timeout"),
        )


def celery_task(task: str, args: list[Any] | tuple[Any, ...] = (),
                kwargs: dict[str, Any] | None = None, *, queue: str | None = None,
                countdown: float | None = None, max_retries: int | None = None,
                timeout: float | None = None) -> CeleryTaskAction:
    """An action that sends the Celery task ``task`` by name (it must be allowed by
    ``TRIGGER_CELERY_TASKS`` when it runs)."""
    config: dict[str, Any] = {"task": task, "args": list(args), "kwargs": dict(kwargs or {}),
                              "queue": queue, "countdown": countdown,
                              "max_retries": max_retries, "timeout": timeout}
    _raise_problems("celery_task", CeleryTaskType().shape_problems(config))
    return CeleryTaskAction(task, args, kwargs, queue=queue, countdown=countdown,
                            max_retries=max_retries, timeout=timeout)


# redis_publish ---------------------------------------------------------------------------

REDIS_CACHES = ("django.core.cache.backends.redis.RedisCache",)
_pools: dict[tuple[str, float], Any] = {}
_pools_lock = threading.Lock()


def redis_pool(url: str, timeout: float) -> Any:
    """The connection pool of ``url`` (one per URL and timeout, shared by the process)."""
    key = (url, timeout)
    pool = _pools.get(key)
    if pool is None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                # one immediate retry: a pooled connection may be stale after a restart
                pool = _pools[key] = redis.ConnectionPool.from_url(
                    url, socket_timeout=timeout, socket_connect_timeout=timeout,
                    retry=Retry(NoBackoff(), 1),
                )
    return pool


def redis_client(timeout: float) -> Any:
    """A Redis client for ``TRIGGER_REDIS_URL``, else for the project's Redis cache."""
    try:
        import redis
    except ImportError:
        raise ActionFailed("redis_publish: redis-py is not installed; install it "
                           "(pip install redis).") from None
    from django.conf import settings as django_settings

    url = settings.TRIGGER_REDIS_URL
    if url:
        return redis.Redis(connection_pool=redis_pool(url, timeout))
    caches = getattr(django_settings, "CACHES", {}) or {}
    for alias in sorted(caches, key=lambda a: a != "default"):
        backend = str(caches[alias].get("BACKEND", ""))
        if backend.startswith("django_redis."):
            from django_redis import get_redis_connection

            return get_redis_connection(alias)
        if backend in REDIS_CACHES:
            location = caches[alias].get("LOCATION") or ""
            if isinstance(location, str):
                location = re.split(r"[;,]", location)
            if location and location[0].strip():
                return redis.Redis(connection_pool=redis_pool(location[0].strip(), timeout))
    raise ActionFailed("redis_publish: no Redis server is configured; set TRIGGER_REDIS_URL, "
                       "e.g. 'redis://localhost:6379/0', or configure a Redis cache in CACHES.")


def event_payload(context: TriggerContext) -> dict[str, Any]:
    """The default message: ``event``, ``trigger``, ``model``, ``pk``, ``changes`` and
    ``timestamp`` (ISO 8601, UTC)."""
    import datetime

    stamp = datetime.datetime.fromtimestamp(context.timestamp, datetime.timezone.utc)
    return {
        "event": str(context.event_type),
        "trigger": getattr(context, "trigger_name", None) or "",
        "model": context.model._meta.label if context.model else "",
        "pk": plain(context.object_pk),
        "changes": {field: plain([old, new]) for field, (old, new) in context.changes.items()},
        "timestamp": stamp.isoformat(),
    }


class RedisPublishAction(MessagingAction):
    """Publish a message on a Redis channel (``PUBLISH``).

    ``channel`` is a template; ``message`` is a JSON template rendered with ``render_data``
    (objects and lists are sent as JSON, a string as its text) and defaults to
    ``event_payload``. The server is ``TRIGGER_REDIS_URL``, else the project's Redis cache.
    """

    def __init__(self, channel: str, message: Any = None, *, max_retries: int | None = None,
                 timeout: float | None = None) -> None:
        super().__init__(max_retries, timeout)
        self.channel = channel
        self.message = message

    def execute(self, context: TriggerContext) -> TriggerResult:
        client = redis_client(self.seconds)
        from redis.exceptions import ConnectionError, RedisError, TimeoutError

        channel = render(self.channel, context, MAX_OUTPUT).strip()
        if not channel:
            raise ActionFailed(f"redis_publish: the channel {self.channel!r} rendered empty.")
        if self.message is None:
            payload: Any = event_payload(context)
        else:
            payload = render_data(self.message, context)
        data = payload if isinstance(payload, str) else json.dumps(payload, cls=DjangoJSONEncoder)
        try:
            receivers = client.publish(channel, data)
        except (ConnectionError, TimeoutError) as exc:
            raise RetryLater(f"redis_publish: Redis cannot be reached: {exc}") from exc
        except RedisError as exc:
            raise ActionFailed(f"redis_publish: Redis refused the message: {exc}") from exc
        return TriggerResult(True, f"published on {channel} to {receivers} subscriber(s)",
                             data={"channel": channel, "receivers": receivers})

    def description(self) -> str:
        return f"publish on Redis channel {self.channel}"


class RedisPublishType(ActionType):
    name = "redis_publish"
    required = ("channel",)
    optional = ("message", "max_retries", "timeout")
    help = ('a redis_publish action publishes on a channel, e.g. {"channel": '
            '"orders.{{ instance.id }}", "message": {"status": "{{ instance.status }}"}}.')

    def check_values(self, config: dict[str, Any], model: Any) -> list[str]:
        problems = _check_text("channel", config["channel"])
        if "message" in config:
            message = config["message"]
            if message is None:
                problems.append("message: give a JSON template, or leave it out for the "
                                "default event payload.")
            else:
                problems.extend(_json_problem("message", message)
                                or _check_strings("message", message))
        problems.extend(_check_delivery(config))
        return problems

    def build(self, config: dict[str, Any], model: Any) -> TriggerAction:
        return RedisPublishAction(config["channel"], config.get("message"),
                                  max_retries=config.get("max_retries"),
                                  timeout=config.get("timeout"))


def redis_publish(channel: str, message: Any = None, *, max_retries: int | None = None,
                  timeout: float | None = None) -> RedisPublishAction:
    """An action that publishes ``message`` (default: the event payload) on ``channel``."""
    config: dict[str, Any] = {"channel": channel, "max_retries": max_retries, "timeout": timeout}
    if message is not None:
        config["message"] = message
    _raise_problems("redis_publish", RedisPublishType().check(config, None))
    return RedisPublishAction(channel, message, max_retries=max_retries, timeout=timeout)


for _type in (EmailType(), CeleryTaskType(), RedisPublishType()):
    ACTION_TYPES.setdefault(_type.name, _type)
