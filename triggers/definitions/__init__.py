"""Database triggers: definitions checked and compiled (``spec``), written with their audit by
one write path (``store``), and kept loaded in every process (``loader``).

The names most code needs are importable from here::

    from triggers.definitions import InvalidDefinition, save_spec

``loader`` here is the per-process ``DefinitionLoader``, which hides the module of the same
name: import the module's other names from this package.
"""

from ..conf import allowed_model, allowed_models
from ..exceptions import InvalidDefinition, Problem
from . import store
from .loader import MARKER, DefinitionLoader, changed, loader, reload
from .spec import (
    DEFAULTS,
    MASK,
    MAX_SECONDS,
    SECRET_KEYS,
    SPEC_KEYS,
    TenantIs,
    build_trigger,
    check_action,
    check_spec,
    diff,
    masked,
    spec_of,
)
from .store import (
    DefinitionStore,
    audit,
    delete,
    duplicate,
    enable_actions,
    save_checked,
    save_spec,
    set_enabled,
)

__all__ = [
    "DEFAULTS",
    "MARKER",
    "MASK",
    "MAX_SECONDS",
    "SECRET_KEYS",
    "SPEC_KEYS",
    "DefinitionLoader",
    "DefinitionStore",
    "InvalidDefinition",
    "Problem",
    "TenantIs",
    "allowed_model",
    "allowed_models",
    "audit",
    "build_trigger",
    "changed",
    "check_action",
    "check_spec",
    "delete",
    "diff",
    "duplicate",
    "enable_actions",
    "loader",
    "masked",
    "reload",
    "save_checked",
    "save_spec",
    "set_enabled",
    "spec_of",
    "store",
]
