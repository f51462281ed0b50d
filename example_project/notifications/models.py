from django.conf import settings
from django.db import models


class Notification(models.Model):
    """A message shown to a user (or to all staff when ``recipient`` is empty)."""

    class Kind(models.TextChoices):
        INFO = "info", "Information"
        STATUS = "status", "Status change"
        FRAUD = "fraud", "Fraud alert"
        ASSIGNMENT = "assignment", "Assignment"
        REGISTRATION = "registration", "Registration"
        TRANSFER = "transfer", "Transfer"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.INFO)
    title = models.CharField(max_length=200)
    message = models.TextField(blank=True)
    object_label = models.CharField(max_length=100, blank=True)
    object_pk = models.CharField(max_length=64, blank=True)
    read = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.title
