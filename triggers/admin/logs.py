"""The read-only records of the admin: the execution log (with the delivery attempts of async
executions, and replay), the actions delivery disabled, and the audit trail."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import delivery, execution_log
from ..definitions import store
from ..models import ActionState, DeliveryAttempt, TriggerAudit, TriggerExecution

#: The permission that lets a user run a trigger by hand, and replay an execution.
RUN_PERMISSION = "triggers.run_triggerdefinition"


class AttemptInline(admin.TabularInline):
    """Every attempt at every action of an async execution, read-only."""

    model = DeliveryAttempt
    fields = ("position", "action", "number", "started_at", "duration_ms", "outcome",
              "status_code", "response", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TriggerExecution)
class TriggerExecutionAdmin(admin.ModelAdmin):
    """The execution log: read-only; dead or failed async executions can be replayed."""

    list_display = ("started_at", "trigger_name", "status", "mode", "attempts", "event",
                    "model", "object_pk", "duration_ms", "user")
    list_filter = ("status", "mode", "event", "trigger_name", "started_at")
    search_fields = ("trigger_name", "object_pk", "message", "error", "chain_id", "key")
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in TriggerExecution._meta.fields] + ["event_json"]
    exclude = ("payload",)
    inlines = [AttemptInline]
    actions = ["replay"]

    def get_queryset(self, request: HttpRequest) -> Any:
        execution_log.flush()  # this process's buffered runs too
        return super().get_queryset(request)

    @admin.display(description=_("event"))
    def event_json(self, obj: TriggerExecution) -> str:
        if obj.payload is None:
            return "-"
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, sort_keys=True))

    @admin.action(description=_("Replay the selected dead or failed async executions"),
                  permissions=["run"])
    def replay(self, request, queryset):
        done, refused = 0, []
        for row in queryset:
            try:
                delivery.replay(row, actor=request.user)
                done += 1
            except ValueError as exc:
                refused.append(str(exc))
        if done:
            self.message_user(request, ngettext(
                "%(count)d execution will be delivered again, with its idempotency key.",
                "%(count)d executions will be delivered again, with their idempotency keys.",
                done) % {"count": done}, messages.SUCCESS)
        for text in refused[:10]:
            self.message_user(request, text, messages.WARNING)

    def has_run_permission(self, request):
        return request.user.has_perm(RUN_PERMISSION)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ActionState)
class ActionStateAdmin(admin.ModelAdmin):
    """Actions delivery disabled (410 Gone, too many failures in a row), with the reason."""

    list_display = ("trigger_name", "position", "enabled", "failures", "reason", "updated_at")
    list_filter = ("enabled",)
    search_fields = ("trigger_name", "reason")
    readonly_fields = ("trigger_name", "position", "enabled", "failures", "reason",
                       "updated_at")
    actions = ["enable"]

    @admin.action(description=_("Enable the selected actions again"), permissions=["change"])
    def enable(self, request, queryset):
        count = store.enable_actions(queryset)
        self.message_user(request, ngettext("%(count)d action enabled.",
                                            "%(count)d actions enabled.", count)
                          % {"count": count}, messages.SUCCESS)

    def has_add_permission(self, request):
        return False


@admin.register(TriggerAudit)
class TriggerAuditAdmin(admin.ModelAdmin):
    """Who changed which trigger: read-only, written by the app."""

    list_display = ("at", "action", "trigger_name", "actor")
    list_filter = ("action",)
    search_fields = ("trigger_name",)
    date_hierarchy = "at"
    fields = ("at", "action", "trigger_name", "actor", "changes_json")
    readonly_fields = fields

    @admin.display(description=_("changes"))
    def changes_json(self, obj: TriggerAudit) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.changes, indent=2, sort_keys=True,
                                                       default=str))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
