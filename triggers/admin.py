from django.contrib import admin

from .models import TriggerExecution, TriggerSwitch
from .switches import switches


@admin.register(TriggerExecution)
class TriggerExecutionAdmin(admin.ModelAdmin):
    """The execution log: read-only."""

    list_display = ("started_at", "trigger_name", "status", "event", "model", "object_pk",
                    "duration_ms", "user")
    list_filter = ("status", "event", "trigger_name", "started_at")
    search_fields = ("trigger_name", "object_pk", "message", "error", "chain_id")
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in TriggerExecution._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TriggerSwitch)
class TriggerSwitchAdmin(admin.ModelAdmin):
    """Stored enable/disable flags; ``__engine__`` switches the whole engine."""

    list_display = ("name", "enabled", "updated_at")
    list_editable = ("enabled",)
    search_fields = ("name",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        switches.clear_cache()  # this process sees the change at once

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        switches.clear_cache()
