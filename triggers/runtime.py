"""Per-context state: the request user, the tenant, the trigger chain, switches off, and
whether saved definitions are being compiled again.

What users set (the user, the tenant, ``disabled()``, ``ignore()``) lives in ``contextvars``,
so it follows asyncio tasks and asgiref's thread hops. The trigger chain is the engine's own:
actions run synchronously in the thread that fired them, so the chain is kept in a
thread-local, which costs a save far less than setting a context variable.

``disabled()`` and ``ignore()`` share one variable (the names to skip, or ``EVERY`` inside
``disabled()``), so that the engine reads one variable per event, not two: ``ignored_names()``.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_request: ContextVar[Any] = ContextVar("triggers_request", default=None)
_user: ContextVar[Any] = ContextVar("triggers_user", default=None)
_tenant: ContextVar[Any] = ContextVar("triggers_tenant", default=None)
_reloading: ContextVar[bool] = ContextVar("triggers_reloading", default=False)


class _Every:
    """The names ``disabled()`` ignores: all of them, whatever ``ignore()`` adds."""

    def __contains__(self, name: object) -> bool:
        return True

    def __or__(self, other: Any) -> _Every:
        return self

    def __repr__(self) -> str:
        return "EVERY"


EVERY = _Every()
_ignored: ContextVar[frozenset[str] | _Every] = ContextVar(
    "triggers_ignored", default=frozenset()
)


class _Chain(threading.local):
    """The trigger chain of this thread: ``current`` is (context, depth) of the trigger whose
    actions run in this thread, or None outside any trigger. Events caused by those actions
    join that context's chain, one level deeper.

    The value lives in a one-item list, ``cell``, made once per thread: the engine reads the
    list once per event (one access to the thread-local) and then reads and sets its item,
    which costs less than reading and setting an attribute of the thread-local each time.
    """

    def __init__(self) -> None:
        self.cell: list[tuple[Any, int] | None] = [None]

    @property
    def current(self) -> tuple[Any, int] | None:
        return self.cell[0]

    @current.setter
    def current(self, value: tuple[Any, int] | None) -> None:
        self.cell[0] = value


#: This thread's trigger chain (the engine reads and sets ``chain.cell[0]``).
chain = _Chain()

#: The names ``ignore()`` skips here, or ``EVERY`` inside ``disabled()`` (one variable read).
ignored_names = _ignored.get
#: The tenant set by ``tenant_context()`` here, or None.
current_tenant = _tenant.get
#: Whether definitions saved earlier are being compiled again here (inside ``reloading()``).
is_reloading = _reloading.get

_chain_prefix = uuid.uuid4().hex[:12]
_chain_counter = itertools.count(1)


def new_chain_id() -> str:
    """A chain id unique across processes (random prefix) and cheap to make (a counter)."""
    return f"{_chain_prefix}-{next(_chain_counter)}"


def current_user() -> Any:
    """The user who is making the change: ``acting_as()`` first, then the request's user."""
    user = _user.get()
    if user is not None:
        return user
    request = _request.get()
    if request is None:
        return None
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user


@contextmanager
def request_context(request: Any) -> Iterator[None]:
    """Make ``request`` (and so ``request.user``) the current request inside this block."""
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


@contextmanager
def disabled() -> Iterator[None]:
    """Fire no trigger inside this block (in this thread or task only)."""
    token = _ignored.set(EVERY)
    try:
        yield
    finally:
        _ignored.reset(token)


@contextmanager
def ignore(*names: str) -> Iterator[None]:
    """Skip the named triggers inside this block (in this thread or task only)."""
    token = _ignored.set(_ignored.get() | frozenset(names))
    try:
        yield
    finally:
        _ignored.reset(token)


@contextmanager
def acting_as(user: Any) -> Iterator[None]:
    """Attribute changes made inside this block to ``user`` (for scripts, tasks and tests)."""
    token = _user.set(user)
    try:
        yield
    finally:
        _user.reset(token)


@contextmanager
def tenant_context(tenant: Any) -> Iterator[None]:
    """Mark changes made inside this block as belonging to ``tenant``."""
    token = _tenant.set(tenant)
    try:
        yield
    finally:
        _tenant.reset(token)


@contextmanager
def reloading() -> Iterator[None]:
    """Mark the checks made inside this block as those of definitions saved earlier and now
    compiled again, which may skip what was verified when they were saved."""
    token = _reloading.set(True)
    try:
        yield
    finally:
        _reloading.reset(token)
