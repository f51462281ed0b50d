"""Database tables: the execution log and the persisted enable/disable switches."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .base.trigger_base import ENGINE_SWITCH, ExecutionMode, ExecutionStatus, TriggerEvent

__all__ = ["ENGINE_SWITCH", "ExecutionStatus", "TriggerExecution", "TriggerSwitch"]


class TriggerExecution(models.Model):
    """One run of one trigger for one event."""

    trigger_name = models.CharField(_("trigger"), max_length=200, db_index=True)
    event = models.CharField(_("event"), max_length=32, choices=TriggerEvent.choices)
    model = models.CharField(_("model"), max_length=200, blank=True)
    object_pk = models.CharField(_("object id"), max_length=255, blank=True, db_index=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ExecutionStatus.choices, db_index=True
    )
    mode = models.CharField(_("mode"), max_length=16, choices=ExecutionMode.choices, blank=True)
    started_at = models.DateTimeField(_("started at"), db_index=True)
    duration_ms = models.FloatField(_("duration (ms)"), null=True, blank=True)
    message = models.TextField(_("result message"), blank=True)
    error = models.TextField(_("error"), blank=True)
    chain_id = models.CharField(_("chain id"), max_length=64, blank=True, db_index=True)
    depth = models.PositiveSmallIntegerField(_("chain depth"), default=0)
    changed_fields = models.JSONField(_("changed fields"), default=list, blank=True)
    user = models.CharField(_("changed by"), max_length=255, blank=True)
    tenant = models.CharField(_("tenant"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("trigger execution")
        verbose_name_plural = _("trigger executions")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["trigger_name", "started_at"])]

    def __str__(self) -> str:
        return f"{self.trigger_name} {self.status} at {self.started_at:%Y-%m-%d %H:%M:%S}"


class TriggerSwitch(models.Model):
    """The stored enabled flag of one trigger, or of the whole engine (``__engine__``)."""

    name = models.CharField(_("trigger name"), max_length=200, unique=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("trigger switch")
        verbose_name_plural = _("trigger switches")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}: {'on' if self.enabled else 'off'}"
