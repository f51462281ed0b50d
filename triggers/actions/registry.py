"""Every action type database triggers and the configuration document can use, by name.

The list is written out here, in the order shown to users (the admin's choices, the message
naming the types): each type lives in a module of its own, which registers nothing itself, so
nothing depends on which module was imported first. A new type is a new module and one more
line below.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .base import ActionType
from .celery_task import CeleryTaskType
from .email import EmailType
from .emit_event import EmitEventType
from .function import FunctionType
from .log import LogType
from .redis import RedisPublishType
from .update_fields import UpdateFieldsType
from .webhook import WebhookType

#: Name -> type, read-only.
ACTION_TYPES: Mapping[str, ActionType] = MappingProxyType({
    action_type.name: action_type for action_type in (
        LogType(),
        FunctionType(),
        UpdateFieldsType(),
        EmitEventType(),
        WebhookType(),
        EmailType(),
        CeleryTaskType(),
        RedisPublishType(),
    )
})

