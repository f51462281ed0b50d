"""The ``celery`` delivery backend and its tasks, the only module that imports Celery:
``triggers.deliver`` runs one async execution by id; ``triggers.sweep`` runs the sweeper
(schedule it with Celery beat). ``triggers.tasks`` names the tasks where Celery's
autodiscovery looks for them.

Tasks are acknowledged after they finish (``acks_late``) and given back to the broker when
their worker process dies (``reject_on_worker_lost``), so a killed worker delays a delivery
but never loses it; the row's claim makes a redelivered task a no-op once the work is done.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from . import queue, runner

logger = logging.getLogger("triggers.delivery")

#: A short publish retry: with the broker down the save must not wait long.
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.1,
                 "interval_max": 0.2}


class CeleryBackend:
    """One Celery task per execution: ``triggers.deliver`` with the id."""

    def submit(self, pk: int, delay: float = 0.0, time_limit: float | None = None) -> bool:
        options: dict[str, Any] = {}
        if delay > 0:
            options["countdown"] = delay
        if time_limit:
            options["time_limit"] = time_limit
        try:
            deliver.apply_async((pk,), retry_policy=PUBLISH_RETRY, **options)
        except Exception:  # the broker is down: the row waits for the sweeper
            logger.warning("Execution %s not handed to Celery; the sweeper will deliver it",
                           pk, exc_info=True)
            return False
        return True


@shared_task(name="triggers.deliver", acks_late=True, reject_on_worker_lost=True,
             ignore_result=True)
def deliver(execution_id: int) -> str | None:
    return runner.deliver(execution_id, CeleryBackend().submit)


@shared_task(name="triggers.sweep", ignore_result=True)
def sweep() -> int:
    return queue.sweep().handed
