"""Exceptions raised by django-model-triggers, all under one root, ``TriggerError``.

    TriggerError
    ├── TriggerVeto                     a pre_* trigger stopped the save or delete
    ├── TriggerConfigurationError       also ImproperlyConfigured
    │   ├── DuplicateTriggerName
    │   ├── UnknownModel
    │   └── UnknownField
    ├── TriggerValidationError          also ValidationError (``messages``)
    │   ├── InvalidCondition
    │   └── InvalidDefinition
    └── ActionFailed                    delivery: the action failed
        ├── RetryLater
        ├── ActionGone
        └── EgressRefused

Each also subclasses the Django exception it stood for before (``ImproperlyConfigured``,
``ValidationError``), so ``except`` clauses written for those keep working.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured, ValidationError


class TriggerError(Exception):
    """Base class of every error this app raises."""


class TriggerVeto(TriggerError):
    """Raise from a pre_save or pre_delete trigger to stop the save or delete.

    The exception propagates to the code that called ``save()`` or ``delete()``, and the
    execution is recorded with the status ``vetoed`` (inside a transaction that is then rolled
    back, the record goes with it; Django always deletes inside one).
    """


class TriggerConfigurationError(TriggerError, ImproperlyConfigured):
    """A trigger is declared in a way that cannot work; the message says how to fix it."""


class DuplicateTriggerName(TriggerConfigurationError):
    """Two triggers were registered under one name."""


class UnknownModel(TriggerConfigurationError):
    """A trigger names a model that is not installed, or a model name that is ambiguous."""


class UnknownField(TriggerConfigurationError):
    """A trigger names a field its model does not have."""


class TriggerValidationError(TriggerError, ValidationError):
    """Input that fails its checks; ``messages`` lists every problem, each naming the fix."""


class InvalidCondition(TriggerValidationError):
    """A condition (Python or JSON) is malformed. Each message names its path and operator."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition: ``key`` is the top-level key it belongs to."""

    key: str
    message: str

    def __str__(self) -> str:
        return self.message


class InvalidDefinition(TriggerValidationError):
    """A definition (or a document of them) failed its checks; nothing was saved."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__([p.message for p in self.problems])


class ActionFailed(TriggerError):
    """An action reported failure; the execution is recorded as failed (and retried in
    ``async`` mode while the action has retries left)."""


class RetryLater(ActionFailed):
    """An action failed in a way worth retrying; ``retry_after`` (seconds) is the wait the
    other side asked for (an HTTP ``Retry-After``), which delivery honours up to its cap."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ActionGone(ActionFailed):
    """The action's target is gone for good (a webhook answering 410 Gone): delivery disables
    the action and records why; later events for it are logged as skipped."""


class EgressRefused(ActionFailed):
    """An address (or the address a name resolves to) may not be contacted; the message says
    which and why. Raised before any connection to it is attempted."""
