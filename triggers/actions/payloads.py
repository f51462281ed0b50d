"""The bodies of webhook requests: the presets ``default`` (this package's event document),
``supabase`` and ``hasura`` (the documents of their database webhooks) and ``none`` (an empty
object), each built from a ``TriggerContext`` by a function in ``PAYLOADS``, and
``PayloadEncoder``, which turns them into JSON.
"""

from __future__ import annotations

import base64
import datetime
import json
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.fields.files import FieldFile

from ..choices import TriggerEvent
from ..templating import is_secret, plain

if TYPE_CHECKING:
    from ..context import TriggerContext

PRESETS = ("default", "supabase", "hasura", "none")
SCHEMA = "public"
OPERATIONS = {
    TriggerEvent.PRE_DELETE: "DELETE", TriggerEvent.POST_DELETE: "DELETE",
    TriggerEvent.QUERYSET_DELETE: "DELETE", TriggerEvent.BULK_CREATE: "INSERT",
    TriggerEvent.BULK_UPDATE: "UPDATE", TriggerEvent.QUERYSET_UPDATE: "UPDATE",
    TriggerEvent.M2M_CHANGED: "UPDATE",
}


class PayloadEncoder(DjangoJSONEncoder):
    """JSON for payloads: dates, decimals and UUIDs as text, model instances as their primary
    keys, files as their names, bytes as base64, anything else as its text."""

    def default(self, o: Any) -> Any:
        if isinstance(o, models.Model):
            return o.pk
        if isinstance(o, FieldFile):
            return o.name or None
        if isinstance(o, (bytes, bytearray, memoryview)):
            return base64.b64encode(bytes(o)).decode()
        if isinstance(o, (set, frozenset)):
            return sorted(o, key=str)
        try:
            return super().default(o)
        except TypeError:
            return str(o)


def encode(payload: Any) -> bytes:
    return json.dumps(payload, cls=PayloadEncoder, separators=(",", ":"),
                      ensure_ascii=False).encode()


def _stamp(context: TriggerContext) -> str:
    moment = datetime.datetime.fromtimestamp(context.timestamp, datetime.timezone.utc)
    return moment.isoformat().replace("+00:00", "Z")


def _row(context: TriggerContext, key: str = "name") -> dict[str, Any] | None:
    """The instance's field values (``key``: "name" or "column"), secrets left out."""
    instance, model = context.instance, context.model
    if instance is None or model is None:
        return None
    values = context.values_now()
    return {getattr(f, key): plain(values[f.attname]) for f in model._meta.concrete_fields
            if f.attname in values and not is_secret(f.name)}


def _old(context: TriggerContext, key: str = "name") -> dict[str, Any]:
    old = context.old_values
    if not old or context.model is None:
        return {}
    fields = {f.name: f for f in context.model._meta.concrete_fields}
    return {getattr(fields[name], key): plain(value) for name, value in old.items()
            if name in fields and not is_secret(name)}


def _user(context: TriggerContext) -> dict[str, Any] | None:
    user = context.user
    if user is None:
        return None
    return {"id": plain(user.pk), "username": str(user.get_username())}


def _operation(context: TriggerContext) -> str | None:
    """INSERT, UPDATE or DELETE for model events; None for custom events."""
    event = context.event
    if event in (TriggerEvent.PRE_SAVE, TriggerEvent.POST_SAVE):
        return "INSERT" if context.created else "UPDATE"
    return OPERATIONS.get(event)


def default_payload(context: TriggerContext, trigger: str, message_id: str) -> dict[str, Any]:
    changes = {name: plain([old, new]) for name, (old, new) in context.changes.items()
               if not is_secret(name)}
    return {
        "event": str(context.event_type),
        "trigger": trigger,
        "model": context.model._meta.label if context.model else None,
        "pk": plain(context.object_pk),
        "created": context.created,
        "instance": _row(context),
        "old": _old(context),
        "changes": changes,
        "data": plain(context.data),
        "user": _user(context),
        "tenant": None if context.tenant is None else str(context.tenant),
        "timestamp": _stamp(context),
    }


def _records(context: TriggerContext) -> tuple[str | None, Any, Any]:
    """The operation, the new row and the old row, keyed by column (Supabase, Hasura)."""
    operation = _operation(context)
    if operation is None:
        return None, plain(context.data), None
    row = _row(context, "column")
    old = _old(context, "column")
    if operation == "INSERT":
        return operation, row, None
    if operation == "DELETE":
        return operation, None, {**(row or {}), **old} if row is not None or old else None
    return operation, row, ({**(row or {}), **old} if old else None)


def supabase_payload(context: TriggerContext, trigger: str, message_id: str) -> dict[str, Any]:
    operation, record, old_record = _records(context)
    return {
        "type": operation or str(context.event_type),
        "table": context.model._meta.db_table if context.model else None,
        "schema": SCHEMA,
        "record": record,
        "old_record": old_record,
    }


def hasura_payload(context: TriggerContext, trigger: str, message_id: str) -> dict[str, Any]:
    operation, new, old = _records(context)
    user = context.user
    session = None if user is None else {
        "x-hasura-role": "user", "x-hasura-user-id": str(plain(user.pk))}
    return {
        "event": {"op": operation or "MANUAL", "data": {"old": old, "new": new},
                  "session_variables": session},
        "created_at": _stamp(context),
        "id": message_id,
        "trigger": {"name": trigger},
        "table": {"schema": SCHEMA,
                  "name": context.model._meta.db_table if context.model else None},
    }


PAYLOADS = {
    "default": default_payload,
    "supabase": supabase_payload,
    "hasura": hasura_payload,
    "none": lambda context, trigger, message_id: {},
}
