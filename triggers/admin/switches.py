"""The stored enable/disable flags of triggers (``__engine__`` switches the whole engine)."""

from __future__ import annotations

from django.contrib import admin

from ..models import TriggerSwitch
from ..switches import switches


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
