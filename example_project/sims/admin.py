from django.contrib import admin

from example_project.shops.admin import ComputedAdmin

from .models import QualityStats, SimAssignment, SimCard


class SimAssignmentInline(admin.TabularInline):
    """The assignment history that sim_card_assignment_tracking writes: read-only."""

    model = SimAssignment
    fields = ("assigned_at", "user", "shop", "assigned_by")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-assigned_at", "-id")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SimCard)
class SimCardAdmin(admin.ModelAdmin):
    """Change a card's status, quality, fraud flag, shop or user here to watch triggers fire."""

    list_display = ("serial_number", "phone_number", "status", "quality", "registration_status",
                    "fraud_flag", "shop", "assigned_to_user", "updated_at")
    list_filter = ("status", "quality", "registration_status", "fraud_flag", "shop")
    search_fields = ("serial_number", "phone_number")
    list_select_related = ("shop", "assigned_to_user")
    readonly_fields = ("registered_at", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("serial_number", "phone_number", "status", "quality")}),
        ("Assignment", {"fields": ("shop", "assigned_to_user")}),
        ("Registration", {"fields": ("registration_status", "registered_at")}),
        ("Fraud", {"fields": ("fraud_flag", "fraud_reason")}),
        ("Dates", {"fields": ("created_at", "updated_at")}),
    )
    inlines = [SimAssignmentInline]


@admin.register(QualityStats)
class QualityStatsAdmin(ComputedAdmin):
    list_display = ("shop", "good", "fair", "poor", "updated_at")
    list_select_related = ("shop",)


@admin.register(SimAssignment)
class SimAssignmentAdmin(ComputedAdmin):
    list_display = ("assigned_at", "sim_card", "user", "shop", "assigned_by")
    list_filter = ("shop", "assigned_by")
    search_fields = ("sim_card__serial_number", "assigned_by")
    list_select_related = ("sim_card", "user", "shop")
