from django.contrib import admin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Notifications the example triggers send; an empty recipient means all staff."""

    list_display = ("created_at", "kind", "title", "recipient", "read")
    list_filter = ("kind", "read", "created_at")
    search_fields = ("title", "message", "object_pk")
    list_select_related = ("recipient",)
    readonly_fields = ("created_at",)
    actions = ["mark_read"]

    @admin.action(description="Mark selected notifications as read")
    def mark_read(self, request, queryset):
        queryset.update(read=True)
