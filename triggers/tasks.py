"""Celery tasks of the ``celery`` delivery backend: ``triggers.deliver`` runs one async
execution by id; ``triggers.sweep`` runs the sweeper (schedule it with Celery beat).

Tasks are acknowledged after they finish (``acks_late``) and given back to the broker when
their worker process dies (``reject_on_worker_lost``), so a killed worker delays a delivery
but never loses it; the row's claim makes a redelivered task a no-op once the work is done.
"""

from __future__ import annotations

from celery import shared_task

from . import delivery


@shared_task(name="triggers.deliver", acks_late=True, reject_on_worker_lost=True,
             ignore_result=True)
def deliver(execution_id: int) -> str | None:
    return delivery.deliver(execution_id)


@shared_task(name="triggers.sweep", ignore_result=True)
def sweep() -> int:
    return delivery.sweep()
