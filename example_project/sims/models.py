import uuid

from django.conf import settings
from django.db import models

from triggers import TriggerManager


class SimCard(models.Model):
    class Status(models.TextChoices):
        INACTIVE = "INACTIVE", "Inactive"
        ACTIVE = "ACTIVE", "Active"
        SUSPENDED = "SUSPENDED", "Suspended"
        BLOCKED = "BLOCKED", "Blocked"

    class Quality(models.TextChoices):
        GOOD = "GOOD", "Good"
        FAIR = "FAIR", "Fair"
        POOR = "POOR", "Poor"

    class Registration(models.TextChoices):
        PENDING = "PENDING", "Pending"
        REGISTERED = "REGISTERED", "Registered"
        REJECTED = "REJECTED", "Rejected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    serial_number = models.CharField(max_length=30, unique=True)
    phone_number = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.INACTIVE)
    quality = models.CharField(max_length=10, choices=Quality.choices, default=Quality.GOOD)
    fraud_flag = models.BooleanField(default=False)
    fraud_reason = models.TextField(blank=True)
    shop = models.ForeignKey(
        "shops.Shop", null=True, blank=True, on_delete=models.SET_NULL, related_name="sim_cards"
    )
    assigned_to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="sim_cards",
    )
    registration_status = models.CharField(
        max_length=20, choices=Registration.choices, default=Registration.PENDING
    )
    registered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TriggerManager()

    def __str__(self):
        return self.serial_number


class QualityStats(models.Model):
    """Counts of SIM cards by quality per shop, kept by sim_card_quality_update."""

    shop = models.OneToOneField(
        "shops.Shop", null=True, on_delete=models.CASCADE, related_name="quality_stats"
    )
    good = models.PositiveIntegerField(default=0)
    fair = models.PositiveIntegerField(default=0)
    poor = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "quality stats"

    def __str__(self):
        return f"{self.shop}: good {self.good}, fair {self.fair}, poor {self.poor}"


class SimAssignment(models.Model):
    """History of who and which shop a SIM card was assigned to."""

    sim_card = models.ForeignKey(SimCard, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    shop = models.ForeignKey("shops.Shop", null=True, blank=True, on_delete=models.SET_NULL)
    assigned_by = models.CharField(max_length=150, blank=True)
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-assigned_at", "-id"]

    def __str__(self):
        return f"{self.sim_card} → {self.user or self.shop}"
