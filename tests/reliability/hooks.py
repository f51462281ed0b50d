"""The triggers of the reliability tests, built the same way in the test process (which saves
and so writes the execution rows) and in the workers (which deliver them by trigger name).

Every webhook goes to the receiver of the test process (``TRIGGERS_RELIABILITY_RECEIVER``),
signed with the secret in ``TRIGGERS_RELIABILITY_SECRET`` and marked with the worker that
sends it (``X-Worker``), so that a test can kill the worker a request came from. A process
registers the triggers listed in ``TRIGGERS_RELIABILITY_HOOKS`` (comma-separated), or all.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from triggers import BaseTrigger, trigger_registry

RECEIVER_ENV = "TRIGGERS_RELIABILITY_RECEIVER"
SECRET_ENV = "TRIGGERS_RELIABILITY_SECRET"
HOOKS_ENV = "TRIGGERS_RELIABILITY_HOOKS"
WORKER_ENV = "TRIGGERS_RELIABILITY_WORKER"

#: The webhooks' timeout (seconds): a worker's lease is this and the runner's margin (10 s).
WEBHOOK_TIMEOUT = 2.0
#: Bytes (seconds) of the slow and the dripping answers: far longer than the timeout.
SLOW_FOR = 10

HOOK = "reliability.hook"
FLAKY = "reliability.flaky"
SLOW = "reliability.slow"
DRIP = "reliability.drip"
REDIRECT = "reliability.redirect"
LOOP = "reliability.loop"

#: name: (receiver path, max_retries, retry_backoff) of each webhook trigger on Article saves.
WEBHOOKS = {
    HOOK: ("/ok", 3, 0.2),
    FLAKY: ("/fail/3", 5, 0.1),
    SLOW: (f"/slow/{SLOW_FOR}", 0, 0.1),
    DRIP: (f"/drip/{SLOW_FOR}", 0, 0.1),
    REDIRECT: ("/redirect", 0, 0.1),
}
NAMES = (*WEBHOOKS, LOOP)


def build(name: str, base_url: str, worker: str = "") -> BaseTrigger:
    """The trigger ``name``, its webhook pointing at ``base_url``."""
    if name == LOOP:
        return BaseTrigger(name=name, event="post_save", model="testapp.Counter", mode="async",
                           actions=[touch], retry_backoff=0.1)
    from triggers.actions import webhook

    path, retries, backoff = WEBHOOKS[name]
    action = webhook(f"{base_url}{path}", secret=f"env:{SECRET_ENV}", timeout=WEBHOOK_TIMEOUT,
                     headers={"X-Worker": worker or "none"}, max_retries=retries)
    return BaseTrigger(name=name, event="post_save", model="testapp.Article", mode="async",
                       actions=[action], max_retries=retries, retry_backoff=backoff)


def install(names: Iterable[str], base_url: str, worker: str = "") -> list[BaseTrigger]:
    """Build and register the triggers ``names``."""
    triggers = [build(name, base_url, worker) for name in names]
    for trigger in triggers:
        trigger_registry.register_trigger(trigger)
    return triggers


def install_from_env() -> None:
    base_url = os.environ.get(RECEIVER_ENV)
    if not base_url:
        return
    names = [n for n in os.environ.get(HOOKS_ENV, "").split(",") if n] or NAMES
    install(names, base_url, os.environ.get(WORKER_ENV, ""))


def touch(context) -> None:
    """Save the counter that fired the trigger again: a trigger that fires itself."""
    from tests.testapp.models import Counter

    counter = Counter.objects.get(pk=context.object_pk)
    counter.value += 1
    counter.save()
