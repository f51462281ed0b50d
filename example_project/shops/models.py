from decimal import Decimal

from django.conf import settings
from django.db import models

from triggers import TriggerManager


class Shop(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        CLOSED = "closed", "Closed"

    name = models.CharField(max_length=100)
    code = models.CharField(max_length=20, unique=True)
    city = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="managed_shops",
    )

    objects = TriggerManager()

    def __str__(self):
        return f"{self.name} ({self.code})"


class ShopPerformance(models.Model):
    """Sales figures of a shop, kept up to date by shop_sales_performance_update."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="performance")
    sale_count = models.PositiveIntegerField(default=0)
    total_sales = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    average_sale = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    last_sale_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.shop}: {self.sale_count} sales, {self.total_sales}"


class ShopInventory(models.Model):
    """Stock of one product in one shop."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="inventory")
    product = models.CharField(max_length=50)
    quantity = models.IntegerField(default=0)
    sold = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "product"], name="unique_shop_product")
        ]
        verbose_name_plural = "shop inventories"

    def __str__(self):
        return f"{self.shop.code} {self.product}: {self.quantity}"


class Sale(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="sales")
    sim_card = models.ForeignKey(
        "sims.SimCard", null=True, blank=True, on_delete=models.SET_NULL, related_name="sales"
    )
    product = models.CharField(max_length=50, default="SIM")
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    sold_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    @property
    def amount(self):
        return self.unit_price * self.quantity

    def __str__(self):
        return f"{self.quantity} × {self.product} at {self.shop.code}"


class FinancialEntry(models.Model):
    """A ledger line written for each sale by shop_inventory_sale_tracking."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="ledger")
    sale = models.OneToOneField(Sale, null=True, on_delete=models.SET_NULL)
    description = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "financial entries"

    def __str__(self):
        return f"{self.shop.code} {self.amount}: {self.description}"


class Transfer(models.Model):
    """Stock moving between shops; shop_transfer_workflow moves the inventory at each stage."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved"
        IN_TRANSIT = "in_transit", "In transit"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    from_shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="transfers_out")
    to_shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="transfers_in")
    product = models.CharField(max_length=50, default="SIM")
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.quantity} {self.product} {self.from_shop.code} → {self.to_shop.code}"
