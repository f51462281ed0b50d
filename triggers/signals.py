"""Signals sent by the engine after each trigger execution.

``trigger_executed`` is sent after a successful (or vetoing) run, ``trigger_failed`` after a
failed or blocked one, both with ``sender`` the trigger's name and the keyword arguments
``trigger``, ``context``, ``status``, ``duration_ms``, ``message`` and ``error``.

``trigger_rate_limited`` is sent for an event a ``rate_limit`` or ``cooldown`` stopped (nothing
ran), with the same arguments: ``status`` is ``rate_limited``, ``message`` says which limit
and when the next execution is allowed.
"""

from django.dispatch import Signal

trigger_executed = Signal()
trigger_failed = Signal()
trigger_rate_limited = Signal()
