"""Delivery under failure, with real parts (issue 4, point 6): Redis, Celery worker processes,
the database of the run and an HTTP receiver; workers killed, the broker stopped, a process
dying between commit and hand-off, endpoints that fail, hang, drip or redirect."""
