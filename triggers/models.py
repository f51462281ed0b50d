"""Database tables: the execution log with its delivery attempts, the enable/disable switches,
the database triggers with their actions, the audit trail, the change marker, API keys and the
flow-control counters."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import ENGINE_SWITCH, ExecutionMode, ExecutionStatus, TriggerEvent, TriggerPriority

__all__ = [
    "ENGINE_SWITCH", "ActionState", "ChangeMarker", "DeliveryAttempt", "ExecutionStatus",
    "FlowCounter", "TriggerAPIKey", "TriggerAudit", "TriggerDefinition", "TriggerDefinitionAction",
    "TriggerExecution", "TriggerSwitch",
]


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
    # Delivery of async executions: the event as it was, and where its delivery stands.
    key = models.UUIDField(
        _("idempotency key"), null=True, blank=True, editable=False, db_index=True,
        help_text=_("The same on every attempt and replay; webhooks send it as webhook-id."),
    )
    payload = models.JSONField(_("event"), null=True, blank=True, editable=False)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    progress = models.PositiveSmallIntegerField(
        _("actions done"), default=0, help_text=_("Actions before this position have run."),
    )
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    lease_expires_at = models.DateTimeField(_("lease expires at"), null=True, blank=True)

    class Meta:
        verbose_name = _("trigger execution")
        verbose_name_plural = _("trigger executions")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["trigger_name", "started_at"]),
            models.Index(fields=["status", "next_attempt_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.trigger_name} {self.status} at {self.started_at:%Y-%m-%d %H:%M:%S}"


class DeliveryAttempt(models.Model):
    """One attempt at one action of an async execution: what happened, with the response."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("success")
        FAILED = "failed", _("failed")
        GONE = "gone", _("gone: action disabled")
        SKIPPED = "skipped", _("skipped: action disabled")
        LOST = "lost", _("lost: the worker stopped")

    execution = models.ForeignKey(
        TriggerExecution, on_delete=models.CASCADE, related_name="attempt_log",
        verbose_name=_("execution"),
    )
    position = models.PositiveSmallIntegerField(_("action position"))
    action = models.CharField(_("action"), max_length=255, blank=True)
    number = models.PositiveIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started at"))
    duration_ms = models.FloatField(_("duration (ms)"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    status_code = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response = models.TextField(_("response (start)"), blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["execution", "started_at", "id"]

    def __str__(self) -> str:
        return f"action {self.position} attempt {self.number}: {self.outcome}"


class ActionState(models.Model):
    """Whether one action of one trigger is still delivered: disabled after a 410 Gone or too
    many failures in a row (``TRIGGER_ACTION_FAILURE_LIMIT``), with the reason."""

    trigger_name = models.CharField(_("trigger"), max_length=200)
    position = models.PositiveSmallIntegerField(_("action position"))
    enabled = models.BooleanField(_("enabled"), default=True)
    failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    reason = models.TextField(_("why disabled"), blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("action state")
        verbose_name_plural = _("action states")
        ordering = ["trigger_name", "position"]
        constraints = [
            models.UniqueConstraint(fields=["trigger_name", "position"],
                                    name="triggers_action_state_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.trigger_name}[{self.position}]: {'on' if self.enabled else 'off'}"


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


class TriggerDefinition(models.Model):
    """A trigger stored in the database, edited in the admin, the API or by import.

    It compiles into the same ``BaseTrigger`` the decorators build (``triggers.definitions``);
    its name shares one namespace with the code triggers.
    """

    name = models.CharField(
        _("name"), max_length=200, unique=True,
        help_text=_("Unique among all triggers, those in code included."),
    )
    description = models.TextField(_("description"), blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    event = models.CharField(
        _("event"), max_length=32, choices=TriggerEvent.choices, default=TriggerEvent.POST_SAVE
    )
    model = models.CharField(
        _("model"), max_length=200, blank=True,
        help_text=_("app_label.Model, one of the models TRIGGER_MODELS allows; "
                    "empty for custom events."),
    )
    event_types = models.JSONField(
        _("event types"), default=list, blank=True,
        help_text=_('For custom events: names or patterns, e.g. ["order.*"].'),
    )
    fields = models.JSONField(
        _("watched fields"), default=list, blank=True,
        help_text=_('Fire only when one of these fields changed, e.g. ["status"].'),
    )
    conditions = models.JSONField(
        _("conditions"), null=True, blank=True,
        help_text=_('JSON, e.g. {"field": "status", "operator": "changed_to", '
                    '"value": "ACTIVE"}; a list means all of them.'),
    )
    priority = models.CharField(
        _("priority"), max_length=16, choices=TriggerPriority.choices,
        default=TriggerPriority.NORMAL,
    )
    mode = models.CharField(
        _("execution mode"), max_length=16, choices=ExecutionMode.choices, blank=True,
        help_text=_("Empty: TRIGGER_DEFAULT_MODE (pre_* events always run inline)."),
    )
    timeout = models.PositiveIntegerField(
        _("timeout (s)"), null=True, blank=True,
        help_text=_("Per action; empty: TRIGGER_DEFAULT_TIMEOUT."),
    )
    max_retries = models.PositiveSmallIntegerField(_("max retries"), default=0)
    retry_backoff = models.FloatField(
        _("retry backoff (s)"), default=10.0,
        help_text=_("First wait before a retry; each further wait doubles."),
    )
    tenant = models.CharField(
        _("tenant"), max_length=255, blank=True,
        help_text=_("Fire only for changes made in this tenant (triggers.tenant_context)."),
    )
    context_filters = models.JSONField(
        _("context filters"), default=dict, blank=True,
        help_text=_('Paths that must equal a value, e.g. {"user.is_staff": false}.'),
    )
    rate_limit = models.CharField(
        _("rate limit"), max_length=32, null=True, blank=True,
        help_text=_('At most this many executions per window; the other events are recorded '
                    'as rate_limited. A number is per minute ("10"), or give "N/s", "N/m", '
                    '"N/h" or "N/d", e.g. "100/h". Empty: no rate limit.'),
    )
    cooldown = models.FloatField(
        _("cooldown (s)"), null=True, blank=True,
        help_text=_("Seconds that must pass after an execution before the next; the events "
                    "in between are recorded as rate_limited. Empty: no cooldown."),
    )
    limit_by = models.CharField(
        _("limit by"), max_length=200, default="trigger", blank=True,
        help_text=_('What the rate limit and cooldown count per: "trigger" (one count; also '
                    'when empty), "object" (each object), or a path into the event such as '
                    '"instance.shop_id", "data.account_id" or "tenant".'),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("database trigger")
        verbose_name_plural = _("database triggers")
        ordering = ["name"]
        permissions = [("run_triggerdefinition", _("Can run a trigger now"))]

    def __str__(self) -> str:
        return self.name


class TriggerDefinitionAction(models.Model):
    """One action of a database trigger; the actions run in ``position`` order."""

    trigger = models.ForeignKey(
        TriggerDefinition, on_delete=models.CASCADE, related_name="actions",
        verbose_name=_("trigger"),
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    type = models.CharField(_("type"), max_length=32)
    config = models.JSONField(
        _("configuration"), default=dict, blank=True,
        help_text=_('JSON, e.g. {"message": "status is {{ instance.status }}"} for a log '
                    "action."),
    )

    class Meta:
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        ordering = ["trigger", "position", "id"]

    def __str__(self) -> str:
        return f"{self.position}: {self.type}"


class TriggerAudit(models.Model):
    """Who changed which trigger, when and how. Written by the app, never edited."""

    class Action(models.TextChoices):
        CREATE = "create", _("create")
        UPDATE = "update", _("update")
        DELETE = "delete", _("delete")
        TOGGLE = "toggle", _("toggle")
        IMPORT = "import", _("import")
        RUN = "run", _("manual run")

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    actor = models.CharField(_("by"), max_length=255, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    trigger_name = models.CharField(_("trigger"), max_length=200, db_index=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.trigger_name} by {self.actor or '?'}"


class ChangeMarker(models.Model):
    """A value replaced (by a random one) on every change of the database triggers; processes
    compare it with the one they compiled, at most every ``TRIGGER_CACHE_TIMEOUT`` seconds."""

    name = models.CharField(max_length=64, primary_key=True)
    version = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("change marker")
        verbose_name_plural = _("change markers")

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class TriggerAPIKey(models.Model):
    """A key for the management API (``/rest/v1/``), sent as the ``apikey`` header and/or as
    ``Authorization: Bearer``. Only a salted hash is stored: the key is shown once, when it is
    made (in the admin or by ``manage.py triggers apikey create``). See ``docs/api.md``.

    The API's own permissions are declared here. Staff users need them (superusers have them
    all); read-write keys have every API permission, read-only keys may only read.
    """

    name = models.CharField(_("name"), max_length=100,
                            help_text=_("Who or what uses the key, e.g. 'billing service'."))
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False,
                              help_text=_("The start of the key, to recognise it."))
    hashed_key = models.CharField(_("hashed key"), max_length=128, editable=False)
    read_only = models.BooleanField(
        _("read-only"), default=False,
        help_text=_("Read-only keys may only read (GET and HEAD); read-write keys may do "
                    "everything the API offers."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name=_("created by"), editable=False,
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True,
                                        editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("toggle_trigger", _("Can enable and disable triggers through the API")),
            ("execute_trigger", _("Can execute triggers (or dry-run them) through the API")),
            ("import_config", _("Can import trigger configuration through the API")),
            ("replay_execution", _("Can replay executions through the API")),
            ("manage_engine", _("Can switch the engine and clear caches through the API")),
            ("emit_event", _("Can emit custom events through the API")),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None



class FlowCounter(models.Model):
    """The flow-control state of one trigger and key (``limit_by``), when the counters live in
    the database: the current rate-limit window, the executions in it, and the last
    execution (for the cooldown). Times are seconds since the epoch. Written by
    ``triggers.flow`` with one conditional UPDATE per check; rows whose state no longer
    matters (``expires``) are deleted from time to time."""

    trigger_name = models.CharField(_("trigger"), max_length=200)
    key = models.CharField(_("key"), max_length=255, blank=True)
    window_start = models.FloatField(_("window start"), null=True, blank=True)
    hits = models.PositiveIntegerField(_("executions in the window"), default=0)
    last_run = models.FloatField(_("last execution"), null=True, blank=True)
    expires = models.FloatField(_("no longer needed after"), default=0.0, db_index=True)

    class Meta:
        verbose_name = _("flow-control counter")
        verbose_name_plural = _("flow-control counters")
        constraints = [
            models.UniqueConstraint(fields=["trigger_name", "key"],
                                    name="triggers_flow_counter_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.trigger_name}[{self.key}]: {self.hits}"
