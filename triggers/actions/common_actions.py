"""Ready-made actions, under the import path seed 004 uses
(``triggers.actions.common_actions``). The code lives in ``triggers.actions.log``; this module
only names it.
"""

from .log import LEVELS, LogAction, log_error, log_info, log_message, log_warning

__all__ = ["LEVELS", "LogAction", "log_error", "log_info", "log_message", "log_warning"]
