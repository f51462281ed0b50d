"""The ``celery_task`` action: a Celery task sent by name (``app.send_task``).

Usable from code (``celery_task(...)``, exported by ``triggers.actions``) and from database
rows (``{"type": "celery_task", ...}``); both are checked by ``CeleryTaskType``, and only tasks
allowed by ``TRIGGER_CELERY_TASKS`` are sent. ``args`` and ``kwargs`` are JSON templates
rendered from the context. The action raises ``RetryLater`` when the broker cannot be reached
and ``ActionFailed`` when retrying would not help. Celery is imported only when the action
runs, so projects that do not use it need not install it.
"""

from __future__ import annotations

import fnmatch
import re
from typing import TYPE_CHECKING, Any

from ..conf import settings
from ..exceptions import ActionFailed, RetryLater
from ..templating import render_data
from .base import ActionType, MessagingAction, TriggerAction, TriggerResult
from .validation import (
    check_delivery,
    check_strings,
    json_problem,
    raise_problems,
)

if TYPE_CHECKING:
    from ..context import TriggerContext

#: Longest Celery countdown an action may ask for; longer waits belong in the database.
MAX_COUNTDOWN = 300
TASK_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:\-]*")


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
    # the app behind Celery's proxy, as Celery's docs show it
    app = current_app._get_current_object()  # type: ignore[attr-defined]
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
            problems.extend(json_problem("args", args) or check_strings("args", args))
        kwargs = config.get("kwargs", {})
        if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
            problems.append('kwargs: give an object, e.g. {"order_id": "{{ instance.id }}"}.')
        else:
            problems.extend(json_problem("kwargs", kwargs) or check_strings("kwargs", kwargs))
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
        problems.extend(check_delivery(config))
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
    raise_problems("celery_task", CeleryTaskType().shape_problems(config))
    return CeleryTaskAction(task, args, kwargs, queue=queue, countdown=countdown,
                            max_retries=max_retries, timeout=timeout)
