"""The Celery tasks of the ``celery`` delivery backend, where Celery's autodiscovery looks for
them (``app.autodiscover_tasks()`` imports ``<app>.tasks``): ``triggers.deliver`` and
``triggers.sweep``. They live in ``triggers.delivery.celery_backend``."""

from .delivery.celery_backend import deliver, sweep

__all__ = ["deliver", "sweep"]
