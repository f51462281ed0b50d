"""The ``redis_publish`` action: a message published on a Redis channel (``PUBLISH``).

Usable from code (``redis_publish(...)``, exported by ``triggers.actions``) and from database
rows (``{"type": "redis_publish", ...}``); both are checked by ``RedisPublishType``. The server
is ``TRIGGER_REDIS_URL``, else the project's Redis cache; the message defaults to
``event_payload``. The action raises ``RetryLater`` when Redis cannot be reached and
``ActionFailed`` when it refuses the message. redis-py is imported only when the action runs,
so projects that do not use it need not install it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder

from ..exceptions import ActionFailed, RetryLater
from ..redis_connection import RedisUnavailable, client
from ..templating import MAX_OUTPUT, plain, render, render_data
from .base import ActionType, MessagingAction, TriggerAction, TriggerResult
from .validation import (
    check_delivery,
    check_strings,
    check_text,
    json_problem,
    raise_problems,
)

if TYPE_CHECKING:
    from ..context import TriggerContext


def redis_client(timeout: float) -> Any:
    """A Redis client for ``TRIGGER_REDIS_URL``, else for the project's Redis cache."""
    try:
        return client(timeout)
    except RedisUnavailable as exc:
        raise ActionFailed(f"redis_publish: {exc}") from None


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
        "changes": plain({field: [old, new] for field, (old, new) in context.changes.items()}),
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
        problems = check_text("channel", config["channel"])
        if "message" in config:
            message = config["message"]
            if message is None:
                problems.append("message: give a JSON template, or leave it out for the "
                                "default event payload.")
            else:
                problems.extend(json_problem("message", message)
                                or check_strings("message", message))
        problems.extend(check_delivery(config))
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
    raise_problems("redis_publish", RedisPublishType().check(config, None))
    return RedisPublishAction(channel, message, max_retries=max_retries, timeout=timeout)
