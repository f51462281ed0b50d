"""Signals sent by the engine after each trigger execution.

``trigger_executed`` is sent after a successful (or vetoing) run, ``trigger_failed`` after a
failed or blocked one, both with ``sender`` the trigger's name and the keyword arguments
``trigger``, ``context``, ``status``, ``duration_ms``, ``message`` and ``error``.
"""

from django.dispatch import Signal

trigger_executed = Signal()
trigger_failed = Signal()
