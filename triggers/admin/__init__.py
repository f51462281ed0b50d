"""The admin: database triggers (edit, test, run), every trigger with its switch, the execution
log, the audit trail and a dashboard. Importing this package registers them with
``admin.site`` (Django's admin autodiscovery imports it).

- ``definitions``: the database triggers' list and form, with the actions inline;
- ``forms``: the forms those pages use, each checked as an import checks a definition;
- ``pages``: the Test, Run now, All triggers and dashboard pages;
- ``logs``: the read-only execution log (attempts, replay), disabled actions, audit trail;
- ``switches``: the stored enable/disable flags;
- ``apikeys``: the API keys (make, list, revoke).

See ``docs/admin.md``.
"""

from .apikeys import TriggerAPIKeyAdmin  # the API keys (no DRF needed)
from .definitions import ActionInline, TriggerDefinitionAdmin
from .logs import ActionStateAdmin, TriggerAuditAdmin, TriggerExecutionAdmin
from .switches import TriggerSwitchAdmin

__all__ = [
    "ActionInline",
    "ActionStateAdmin",
    "TriggerAPIKeyAdmin",
    "TriggerAuditAdmin",
    "TriggerDefinitionAdmin",
    "TriggerExecutionAdmin",
    "TriggerSwitchAdmin",
]
