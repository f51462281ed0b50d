from django.contrib import admin

from .models import FinancialEntry, Sale, Shop, ShopInventory, ShopPerformance, Transfer


class ComputedAdmin(admin.ModelAdmin):
    """Rows that triggers keep up to date: view them, don't edit them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    """Change a shop's status (here or in the list) to fire shop_status_change_handler."""

    list_display = ("name", "code", "city", "status", "manager")
    list_editable = ("status",)
    list_filter = ("status", "city")
    search_fields = ("name", "code", "city")
    list_select_related = ("manager",)


@admin.register(ShopPerformance)
class ShopPerformanceAdmin(ComputedAdmin):
    list_display = ("shop", "sale_count", "total_sales", "average_sale", "last_sale_at")
    list_select_related = ("shop",)


@admin.register(ShopInventory)
class ShopInventoryAdmin(admin.ModelAdmin):
    list_display = ("shop", "product", "quantity", "sold")
    list_filter = ("product", "shop")
    list_select_related = ("shop",)


@admin.register(Sale)
class SaleAdmin(admin.ModelAdmin):
    """Add a sale to update the shop's performance, stock and ledger."""

    list_display = ("created_at", "shop", "product", "quantity", "unit_price", "sim_card",
                    "sold_by")
    list_filter = ("shop", "product")
    date_hierarchy = "created_at"
    raw_id_fields = ("sim_card",)
    list_select_related = ("shop", "sim_card", "sold_by")

    def save_model(self, request, obj, form, change):
        if obj.sold_by_id is None:
            obj.sold_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(FinancialEntry)
class FinancialEntryAdmin(ComputedAdmin):
    list_display = ("created_at", "shop", "amount", "description", "sale")
    list_filter = ("shop",)
    date_hierarchy = "created_at"
    list_select_related = ("shop", "sale")


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):
    """Move a transfer through approved, in transit, received (or cancelled) to move stock."""

    list_display = ("id", "from_shop", "to_shop", "product", "quantity", "status",
                    "requested_by", "updated_at")
    list_editable = ("status",)
    list_filter = ("status", "from_shop", "to_shop")
    list_select_related = ("from_shop", "to_shop", "requested_by")

    def save_model(self, request, obj, form, change):
        if obj.requested_by_id is None:
            obj.requested_by = request.user
        super().save_model(request, obj, form, change)
